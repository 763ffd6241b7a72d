//! Reading `tandem status --json`.
//!
//! The shape is the one documented in `linux-port/src/status.rs`:
//!
//! ```text
//! {"pid":1,"now_ms":5000,"uptime_ms":4000,"config":"/etc/k.conf",
//!  "instances":[{"name":"I1","interface":"br-lan","state":"MASTER","priority":101,
//!    "effective_priority":101,"master":"10.9.8.2","master_is_self":true,
//!    "received":10,"sent":20,"dropped":{"total":1,"auth":1,…},"transitions":2,
//!    "last_transition":{"from":"BACKUP","to":"MASTER","reason":"…",…}}],
//!  "interfaces":[…]}
//! ```
//!
//! `name` and `state` are required; a missing counter reads as `None` so that a
//! test can say which one it needs.

use crate::json::Json;

/// A VRRP instance's state as reported by `tandem status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// `INIT`.
    Init,
    /// `BACKUP`.
    Backup,
    /// `MASTER`.
    Master,
    /// `FAULT` (tracked link down).
    Fault,
    /// Anything else (kept verbatim).
    Other(String),
}

impl Role {
    fn parse(s: &str) -> Role {
        match s.to_ascii_uppercase().as_str() {
            "INIT" | "INITIALIZE" => Role::Init,
            "BACKUP" => Role::Backup,
            "MASTER" => Role::Master,
            "FAULT" => Role::Fault,
            _ => Role::Other(s.to_string()),
        }
    }
}

/// One instance of `tandem status --json`.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceStatus {
    /// Instance name (`I1`, `E1`).
    pub name: String,
    /// Current state.
    pub state: Role,
    /// Configured priority.
    pub priority: Option<u64>,
    /// Effective priority.
    pub effective_priority: Option<u64>,
    /// The master's address as known to this instance (`None` while unknown).
    pub master: Option<String>,
    /// Whether the master is this router.
    pub master_is_self: Option<bool>,
    /// Adverts received for this instance (before checks).
    pub received: Option<u64>,
    /// Adverts sent.
    pub sent: Option<u64>,
    /// Adverts dropped, all reasons (`dropped.total`).
    pub dropped_total: Option<u64>,
    /// Adverts dropped because of authentication (`dropped.auth`).
    pub auth_dropped: Option<u64>,
    /// Number of state transitions.
    pub transitions: Option<u64>,
    /// Reason of the last transition, if any.
    pub last_reason: Option<String>,
    /// The instance's JSON as printed.
    pub raw: Json,
}

/// The whole `tandem status --json` document.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    /// Every instance.
    pub instances: Vec<InstanceStatus>,
    /// The document as printed.
    pub raw: Json,
}

impl InstanceStatus {
    fn from_json(v: &Json) -> Result<InstanceStatus, String> {
        let s = |k: &str| v.get(k).and_then(Json::as_str).map(str::to_string);
        let n = |k: &str| v.get(k).and_then(Json::as_u64);
        let name = s("name").ok_or_else(|| format!("instance without a name: {v:?}"))?;
        let state = s("state")
            .map(|t| Role::parse(&t))
            .ok_or_else(|| format!("instance {name} without a state: {v:?}"))?;
        let dropped = v.get("dropped");
        Ok(InstanceStatus {
            state,
            priority: n("priority"),
            effective_priority: n("effective_priority"),
            master: s("master"),
            master_is_self: match v.get("master_is_self") {
                Some(Json::Bool(b)) => Some(*b),
                _ => None,
            },
            received: n("received"),
            sent: n("sent"),
            dropped_total: dropped.and_then(|d| d.get("total")).and_then(Json::as_u64),
            auth_dropped: dropped.and_then(|d| d.get("auth")).and_then(Json::as_u64),
            transitions: n("transitions"),
            last_reason: v
                .get("last_transition")
                .and_then(|t| t.get("reason"))
                .and_then(Json::as_str)
                .map(str::to_string),
            raw: v.clone(),
            name,
        })
    }
}

impl Status {
    /// Parses the output of `tandem status --json`.
    pub fn parse(text: &str) -> Result<Status, String> {
        let raw = Json::parse(text).map_err(|e| format!("{e} in {text:?}"))?;
        let list = raw
            .get("instances")
            .ok_or_else(|| format!("no \"instances\" in {text}"))?;
        let Json::Array(items) = list else {
            return Err(format!("\"instances\" is not an array: {text}"));
        };
        let instances = items
            .iter()
            .map(InstanceStatus::from_json)
            .collect::<Result<_, _>>()?;
        Ok(Status { instances, raw })
    }

    /// The instance named `name`.
    pub fn instance(&self, name: &str) -> Option<&InstanceStatus> {
        self.instances.iter().find(|i| i.name == name)
    }

    /// Whether there are instances and every one is in `role`.
    pub fn all(&self, role: &Role) -> bool {
        !self.instances.is_empty() && self.instances.iter().all(|i| &i.state == role)
    }

    /// Sum of the auth drop counters of all instances (`None` if one lacks it).
    pub fn auth_dropped(&self) -> Option<u64> {
        self.instances
            .iter()
            .map(|i| i.auth_dropped)
            .try_fold(0, |a, b| b.map(|b| a + b))
    }

    /// Sum of the received counters of all instances (`None` if one lacks it).
    pub fn received(&self) -> Option<u64> {
        self.instances
            .iter()
            .map(|i| i.received)
            .try_fold(0, |a, b| b.map(|b| a + b))
    }

    /// Compact one-line summary (`I1 MASTER rx 10 auth-drop 0; E1 …`) for messages.
    pub fn summary(&self) -> String {
        self.instances
            .iter()
            .map(|i| {
                format!(
                    "{} {:?} prio {:?} master {:?} rx {:?} drop {:?} auth-drop {:?} transitions {:?} ({:?})",
                    i.name,
                    i.state,
                    i.effective_priority,
                    i.master,
                    i.received,
                    i.dropped_total,
                    i.auth_dropped,
                    i.transitions,
                    i.last_reason
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"pid":1,"now_ms":5000,"uptime_ms":4000,"config":"/etc/k.conf",
 "instances":[{"name":"I1","interface":"br-lan","family":"ipv4",
   "vrrp_version":2,"vrid":51,"sync_group":"G1","state":"MASTER",
   "priority":101,"effective_priority":101,"master":"192.168.1.2",
   "master_is_self":true,"received":10,"sent":20,
   "dropped":{"total":1,"ttl":0,"version":0,"checksum":0,"auth":1,
              "interval":0,"malformed":0},
   "address_list_mismatch":0,"transitions":2,
   "last_transition":{"from":"BACKUP","to":"MASTER","reason":"master down",
     "reason_code":"MasterDown","at_ms":1000,"ago_ms":4000}},
   {"name":"E1","state":"BACKUP","master":null,"received":3,"dropped":{"total":0,"auth":0},
    "last_transition":null}],
 "interfaces":[{"name":"br-lan","ifindex":3,"up":true,"unknown_vrid":0}]}"#;

    #[test]
    fn reads_documented_shape() {
        let s = Status::parse(DOC).unwrap();
        let i1 = s.instance("I1").unwrap();
        assert_eq!(i1.state, Role::Master);
        assert_eq!(i1.received, Some(10));
        assert_eq!(i1.auth_dropped, Some(1));
        assert_eq!(i1.dropped_total, Some(1));
        assert_eq!(i1.transitions, Some(2));
        assert_eq!(i1.master.as_deref(), Some("192.168.1.2"));
        assert_eq!(i1.master_is_self, Some(true));
        assert_eq!(i1.last_reason.as_deref(), Some("master down"));
        let e1 = s.instance("E1").unwrap();
        assert_eq!((e1.state.clone(), e1.master.clone()), (Role::Backup, None));
        assert_eq!(s.auth_dropped(), Some(1));
        assert_eq!(s.received(), Some(13));
        assert!(!s.all(&Role::Master));
    }

    #[test]
    fn rejects_missing_state_or_instances() {
        assert!(Status::parse(r#"{"instances":[{"name":"I1"}]}"#).is_err());
        assert!(Status::parse(r#"{"pid":1}"#).is_err());
        assert!(Status::parse("not json").is_err());
    }
}
