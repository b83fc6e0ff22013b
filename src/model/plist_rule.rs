//! Who must own the job's plist and which of its mode bits launchd refuses (docs/macos.md §4.1):
//! an agent's plist belongs to the user who loads it, a daemon's to `root:wheel`, and neither may
//! be group- or world-writable. The one statement of that rule; plan, apply and verify ask it.

use super::desired::Mode;

/// The mode ssollama writes a plist with (`rw-r--r--`); a umask's 0664 would be refused.
pub(crate) const PLIST_MODE: u32 = 0o644;

/// Whether a file with permission bits `mode` may be written by its group or by others: launchd
/// refuses such a plist, and root does not run such a program.
#[must_use]
pub(crate) fn others_may_write(mode: u32) -> bool {
    mode & 0o022 != 0
}

impl Mode {
    /// Whether the plist belongs to root (a daemon) rather than to the user who loads it (an
    /// agent).
    #[must_use]
    pub(crate) fn plist_owned_by_root(&self) -> bool {
        matches!(self, Self::Daemon { .. })
    }

    /// The uid that must own the plist, where `user` is the uid of the user who loads an agent.
    #[must_use]
    pub(crate) fn plist_owner(&self, user: u32) -> u32 {
        if self.plist_owned_by_root() { 0 } else { user }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_belong_to_their_user_and_daemons_to_root() {
        assert_eq!(Mode::Agent.plist_owner(501), 501);
        let daemon = Mode::Daemon {
            user: "ollama".to_owned(),
        };
        assert_eq!(daemon.plist_owner(501), 0);
        assert!(daemon.plist_owned_by_root());
        assert!(!Mode::Agent.plist_owned_by_root());
    }

    #[test]
    fn group_or_world_write_is_refused() {
        assert!(!others_may_write(PLIST_MODE));
        assert!(!others_may_write(0o600));
        assert!(!others_may_write(0o755));
        assert!(others_may_write(0o664));
        assert!(others_may_write(0o646));
        assert!(others_may_write(0o777));
    }
}
