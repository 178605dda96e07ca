//! The `homes` section: which machine this is among its peers, and how long its claim on a
//! user's live state lasts (the `homes` table: see `crate::homes`).

use super::{ConfigError, DbSettings, invalid};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A machine's name among the machines sharing one primary: what `fly-replay: instance=…`
/// names, so Fly's proxy can take a request there. `STORYMIMI_INSTANCE_ID`, else Fly's
/// `FLY_MACHINE_ID`, else random at start-up. 1–64 letters, digits, `-` or `_` (it goes into
/// a header as it is).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InstanceId(Arc<str>);

impl InstanceId {
    /// A fresh random name (a machine outside Fly that was given none).
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string()[..16].into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for InstanceId {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let ok =
            (1..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok { Ok(Self(text.into())) } else { Err("instance_id must be 1 to 64 letters, digits, `-` or `_`".into()) }
    }
}

impl From<InstanceId> for String {
    fn from(id: InstanceId) -> Self {
        id.0.to_string()
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InstanceId({})", self.0)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct HomesConfig {
    /// This machine's name among those sharing the primary (what `fly-replay` names); unset:
    /// `FLY_MACHINE_ID`, else random at start-up.
    pub instance_id: Option<InstanceId>,
    /// How long this machine's claim on a user's live state (their home) lasts unrenewed.
    #[serde(rename = "home_lease_secs")]
    pub lease_secs: u64,
    /// How often unfinished stories without a live home are looked for and adopted.
    #[serde(rename = "home_sweep_secs")]
    pub sweep_secs: u64,
}

impl Default for HomesConfig {
    fn default() -> Self {
        Self { instance_id: None, lease_secs: 15, sweep_secs: 5 }
    }
}

impl HomesConfig {
    pub(super) fn validate(&self, db: &DbSettings) -> Result<(), ConfigError> {
        if !(1..=3600).contains(&self.lease_secs) || !(1..=3600).contains(&self.sweep_secs) {
            return invalid("home_lease_secs and home_sweep_secs must be between 1 and 3600");
        }
        // A renewal that takes as long as the lease lets it lapse while it is on its way.
        if db.url.is_some() && self.lease_secs.saturating_mul(1000) <= db.primary_timeout_ms {
            return invalid("home_lease_secs must be longer than db_primary_timeout_ms");
        }
        Ok(())
    }
}

/// This machine's name and the timing of its leases (from the `homes` section, and the
/// conversations' idle time).
#[derive(Clone, Debug)]
pub struct HomeSettings {
    pub instance: InstanceId,
    /// How long a claim lasts without renewal; renewed every third of it.
    pub lease: Duration,
    /// How often unfinished stories without a live home are looked for (and adopted).
    pub sweep: Duration,
    /// A home no request used for this long, with nothing of the user's running here, is let
    /// go (as a conversation is passivated).
    pub idle: Duration,
}

impl HomeSettings {
    /// The pause between two renewals of this machine's leases.
    pub fn renew_every(&self) -> Duration {
        self.lease / 3
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use figment::Figment;
    use figment::providers::{Format, Serialized, Toml};

    #[test]
    fn homes_have_a_name_and_checked_timings() {
        let config = Config::default();
        let settings = config.homes(|| InstanceId::try_from("fallback".to_owned()).unwrap());
        assert_eq!(settings.instance.as_str(), "fallback", "no name configured");
        assert_eq!((settings.lease, settings.renew_every()), (Duration::from_secs(15), Duration::from_secs(5)));
        assert_eq!(settings.sweep, Duration::from_secs(5));
        let parse = |toml: &str| {
            Figment::from(Serialized::defaults(config.clone()))
                .merge(Toml::string(toml))
                .extract::<Config>()
                .map_err(Box::new)
        };
        let named = parse("instance_id = \"m1\"\nhome_sweep_secs = 2").unwrap();
        assert_eq!((named.homes(InstanceId::random).instance.as_str(), named.homes.sweep_secs), ("m1", 2));
        for bad in ["home_lease_secs = 0", "home_sweep_secs = 0", "home_lease_secs = 3601"] {
            assert!(parse(bad).unwrap().validate().is_err(), "{bad}");
        }
        assert!(parse("instance_id = \"m1;region=ams\"").is_err(), "a name that is not header-safe");
        // Through a replica, a renewal may take as long as a delegated write.
        let replica = parse("db_url = \"http://127.0.0.1:1\"\nhome_lease_secs = 5").unwrap();
        assert!(replica.validate().is_err(), "5 s leases with the default 5 s primary timeout");
        let mut quicker = replica.clone();
        quicker.db.primary_timeout_ms = 2000;
        assert!(quicker.validate().is_ok());
    }

    #[test]
    fn instance_ids_are_header_safe_names() {
        for ok in ["148ed193b95e89", "m1", "eu-west_2"] {
            assert_eq!(InstanceId::try_from(ok.to_owned()).unwrap().as_str(), ok);
        }
        for bad in ["", "a b", "m1;region=ams", "x,y", &"a".repeat(65), "é"] {
            assert!(InstanceId::try_from(bad.to_owned()).is_err(), "{bad:?}");
        }
        let random = InstanceId::random();
        assert_ne!(random, InstanceId::random());
        assert!(InstanceId::try_from(random.to_string()).is_ok());
    }
}
