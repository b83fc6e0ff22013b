# Homebrew formula: builds ssollama from source with cargo.
#   brew install --build-from-source ./Formula/ssollama.rb
# or, from a tap that carries this file: brew install ssollama
class Ssollama < Formula
  desc "Declarative config-as-code reconciler for a self-hosted Ollama server on a Mac"
  homepage "https://github.com/ssollama/ssollama"
  url "https://github.com/ssollama/ssollama.git", branch: "main"
  version "0.1.0"
  license any_of: ["MIT", "Apache-2.0"]
  head "https://github.com/ssollama/ssollama.git", branch: "main"

  depends_on "rust" => :build
  depends_on :macos
  depends_on "ollama" => :recommended

  def install
    system "cargo", "install", *std_cargo_args
    generate_completions_from_executable(bin/"ssollama", "completions")
    (man1/"ssollama.1").write Utils.safe_popen_read(bin/"ssollama", "man")
    pkgshare.install "server.toml.example", "examples"
  end

  def caveats
    <<~EOS
      Agent mode (the default) runs `ollama serve` as a LaunchAgent in your GUI session: it starts
      when you log in. On an always-on server Mac, turn on automatic login (System Settings >
      Users & Groups), or use `mode = "daemon"` in server.toml (runs at boot, needs sudo).

      Start with:
        mkdir -p ~/ollama-server && cd ~/ollama-server
        ssollama init            # or: ssollama init --from-machine
        ssollama plan
    EOS
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/ssollama --version")
    system bin/"ssollama", "init", testpath/"server.toml"
    assert_path_exists testpath/"server.schema.json"
    assert_match "is valid", shell_output("#{bin}/ssollama -c #{testpath}/server.toml validate 2>&1")
    # A saved observation plans on any Mac without touching it.
    output = shell_output("#{bin}/ssollama -c #{pkgshare}/server.toml.example plan " \
                          "--state #{pkgshare}/examples/state/converged-mac.json")
    assert_match "No changes.", output
    assert_match "complete -c ssollama", shell_output("#{bin}/ssollama completions fish")
  end
end
