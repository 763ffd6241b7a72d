//! Reading `tandem status --json`.
//!
//! The reader is tolerant about layout (an `instances` array or object, counters
//! flat or nested) but strict about meaning: an instance without a recognisable
//! `state` is an error.

use crate::json::Json;

/// A VRRP instance's state as reported by `tandem status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Initialize.
    Init,
    /// Backup.
    Backup,
    /// Master.
    Master,
    /// Fault (tracked link down).
    Fault,
    /// Anything else (kept verbatim).
    Other(String),
}

impl Role {
    fn parse(s: &str) -> Role {
        match s.to_ascii_lowercase().as_str() {
            "init" | "initialize" | "initialise" => Role::Init,
            "backup" => Role::Backup,
            "master" => Role::Master,
            "fault" => Role::Fault,
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
    /// Current priority, if reported.
    pub priority: Option<u64>,
    /// The master's address as known to this instance, if reported.
    pub master: Option<String>,
    /// Adverts received (accepted), if reported.
    pub received: Option<u64>,
    /// Adverts dropped because of authentication (wrong password/type), if reported.
    pub auth_dropped: Option<u64>,
    /// All dropped adverts, if reported (sum of the reasons when only those are given).
    pub dropped_total: Option<u64>,
    /// Number of state transitions, if reported.
    pub transitions: Option<u64>,
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

fn number(v: &Json) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.find("total").and_then(Json::as_u64))
        .or_else(|| v.find("count").and_then(Json::as_u64))
}

fn sum_numbers(v: &Json) -> Option<u64> {
    match v {
        Json::Object(m) => m
            .values()
            .map(sum_numbers)
            .try_fold(0u64, |a, b| b.map(|b| a + b)),
        other => other.as_u64(),
    }
}

fn auth_drops(inst: &Json) -> Option<u64> {
    // {"dropped": {"auth": N, …}} or {"counters": {"dropped": {"auth_failure": N}}} or
    // flat keys like "dropped_auth" / "auth_errors".
    fn walk(v: &Json, under_drop: bool) -> Option<u64> {
        let m = v.as_object()?;
        for (k, val) in m {
            let kl = k.to_ascii_lowercase();
            let is_drop = kl.contains("drop") || kl.contains("error") || kl.contains("reject");
            if (under_drop || is_drop) && kl.contains("auth") {
                if let Some(n) = val.as_u64() {
                    return Some(n);
                }
            }
            if let Some(n) = walk(val, under_drop || is_drop) {
                return Some(n);
            }
        }
        None
    }
    walk(inst, false)
}

impl InstanceStatus {
    fn from_json(name_hint: Option<&str>, v: &Json) -> Result<InstanceStatus, String> {
        let name = v
            .get("name")
            .or_else(|| v.get("instance"))
            .and_then(Json::as_str)
            .or(name_hint)
            .ok_or_else(|| format!("instance without a name: {v:?}"))?
            .to_string();
        let state = v
            .get("state")
            .and_then(Json::as_str)
            .map(Role::parse)
            .ok_or_else(|| format!("instance {name} without a state: {v:?}"))?;
        let priority = v
            .get("priority")
            .or_else(|| v.get("effective_priority"))
            .and_then(Json::as_u64);
        let master = ["master_address", "master_addr", "master"]
            .iter()
            .find_map(|k| v.get(k))
            .and_then(Json::as_str)
            .map(str::to_string);
        let received = v
            .find("received")
            .and_then(number)
            .or_else(|| v.find("rx").and_then(number));
        let dropped_total = v.find("dropped").and_then(sum_numbers);
        Ok(InstanceStatus {
            name,
            state,
            priority,
            master,
            received,
            auth_dropped: auth_drops(v),
            dropped_total,
            transitions: v.find("transitions").and_then(number),
            raw: v.clone(),
        })
    }
}

impl Status {
    /// Parses the output of `tandem status --json`.
    pub fn parse(text: &str) -> Result<Status, String> {
        let raw = Json::parse(text).map_err(|e| format!("{e} in {text:?}"))?;
        let list = match &raw {
            Json::Array(_) => &raw,
            _ => raw
                .get("instances")
                .ok_or_else(|| format!("no \"instances\" in {text}"))?,
        };
        let instances = match list {
            Json::Array(v) => v
                .iter()
                .map(|i| InstanceStatus::from_json(None, i))
                .collect(),
            Json::Object(m) => m
                .iter()
                .map(|(k, i)| InstanceStatus::from_json(Some(k), i))
                .collect(),
            _ => Err(format!(
                "\"instances\" is neither an array nor an object: {text}"
            )),
        }?;
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

    /// Sum of the auth drop counters of all instances (None if none reports one).
    pub fn auth_dropped(&self) -> Option<u64> {
        self.instances
            .iter()
            .map(|i| i.auth_dropped)
            .try_fold(0, |a, b| b.map(|b| a + b))
    }

    /// Sum of the received counters of all instances (None if one does not report it).
    pub fn received(&self) -> Option<u64> {
        self.instances
            .iter()
            .map(|i| i.received)
            .try_fold(0, |a, b| b.map(|b| a + b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_layout() {
        let t = r#"{"instances":[{"name":"I1","state":"MASTER","priority":101,"master_address":"10.9.8.2",
            "counters":{"received":12,"transitions":2,"dropped":{"ttl":0,"auth":3}}},
            {"name":"E1","state":"backup","counters":{"received":1,"dropped":{"auth":1}}}]}"#;
        let s = Status::parse(t).unwrap();
        let i1 = s.instance("I1").unwrap();
        assert_eq!(i1.state, Role::Master);
        assert_eq!(i1.received, Some(12));
        assert_eq!(i1.auth_dropped, Some(3));
        assert_eq!(i1.dropped_total, Some(3));
        assert_eq!(i1.transitions, Some(2));
        assert_eq!(i1.master.as_deref(), Some("10.9.8.2"));
        assert_eq!(s.auth_dropped(), Some(4));
        assert!(!s.all(&Role::Master));
    }

    #[test]
    fn reads_flat_layout_and_rejects_missing_state() {
        let s = Status::parse(r#"{"instances":{"I1":{"state":"Fault","rx":5,"dropped_auth":7}}}"#)
            .unwrap();
        assert_eq!(s.instances[0].name, "I1");
        assert_eq!(s.instances[0].state, Role::Fault);
        assert_eq!(s.instances[0].received, Some(5));
        assert_eq!(s.instances[0].auth_dropped, Some(7));
        assert!(Status::parse(r#"{"instances":[{"name":"I1"}]}"#).is_err());
    }
}
