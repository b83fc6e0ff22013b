//! The IP method's text: how the configuration method of `networksetup -getinfo` is written, in
//! the JSON documents and on screen. The one spelling of each; plan, status, the observe screen
//! and verify use it.

use super::observed::IpMethod;

impl IpMethod {
    /// As the JSON documents (`plan --json`, `status --json`) and the status screen write it:
    /// `dhcp`, `manual`, `bootp`, anything else verbatim.
    #[must_use]
    pub(crate) fn name(&self) -> &str {
        match self {
            Self::Dhcp => "dhcp",
            Self::Manual => "manual",
            Self::Bootp => "bootp",
            Self::Other(text) => text,
        }
    }

    /// As people read it, in `networksetup`'s words (`Manual Configuration`): `DHCP`, `Manual`,
    /// `BOOTP`, anything else verbatim.
    #[must_use]
    pub(crate) fn label(&self) -> &str {
        match self {
            Self::Dhcp => "DHCP",
            Self::Manual => "Manual",
            Self::Bootp => "BOOTP",
            Self::Other(text) => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_method_has_one_name_and_one_label() {
        let other = IpMethod::Other("Off Configuration".to_owned());
        let names: Vec<&str> = [&IpMethod::Dhcp, &IpMethod::Manual, &IpMethod::Bootp, &other]
            .map(IpMethod::name)
            .to_vec();
        assert_eq!(names, ["dhcp", "manual", "bootp", "Off Configuration"]);
        let labels: Vec<&str> = [&IpMethod::Dhcp, &IpMethod::Manual, &IpMethod::Bootp, &other]
            .map(IpMethod::label)
            .to_vec();
        assert_eq!(labels, ["DHCP", "Manual", "BOOTP", "Off Configuration"]);
    }
}
