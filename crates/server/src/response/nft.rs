//! Bans applied with nftables directly: firebreak's own `inet` table, one set per address
//! family with per-element timeouts (so an element leaves by itself when its decision
//! expires, even if firebreak is down), and optionally an input chain that drops their traffic.
//! Changes go through the `nft` command (Debian's `nftables`), one script per change.

use std::process::Stdio;
use std::time::Duration;

use firebreak_core::Decision;
use jiff::Timestamp;
use tokio::io::AsyncWriteExt;

use crate::config::NftablesConfig;

#[derive(Debug, Clone)]
pub struct Nftables {
    table: String,
    drop_chain: bool,
}

/// A table name nft accepts without quoting, so that no configuration can inject a command.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Nftables {
    pub fn new(config: &NftablesConfig) -> Result<Nftables, String> {
        if !valid_name(&config.table) {
            return Err(format!(
                "[response.nftables] table `{}`: use letters, digits, `_` and `-`",
                config.table
            ));
        }
        Ok(Nftables { table: config.table.clone(), drop_chain: config.drop_chain })
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table and its sets (and chain) if they are missing; keeps what is there.
    pub async fn setup(&self) -> Result<(), String> {
        let table = &self.table;
        let mut script = format!(
            "add table inet {table}\n\
             add set inet {table} banned4 {{ type ipv4_addr; flags interval, timeout; }}\n\
             add set inet {table} banned6 {{ type ipv6_addr; flags interval, timeout; }}\n"
        );
        if self.drop_chain {
            script.push_str(&format!(
                "add chain inet {table} input {{ type filter hook input priority -10; policy accept; }}\n\
                 flush chain inet {table} input\n\
                 add rule inet {table} input ip saddr @banned4 drop\n\
                 add rule inet {table} input ip6 saddr @banned6 drop\n"
            ));
        }
        run(&script).await
    }

    /// Adds a ban's target to its set, timing out when the decision does.
    pub async fn add(&self, decision: &Decision, now: Timestamp) -> Result<(), String> {
        let secs = (decision.expires_at.as_second() - now.as_second()).max(1);
        let (set, element) = self.element(decision)?;
        // Delete first (ignoring "not there"), so that an extended ban gets its new timeout.
        let _ = run(&format!("delete element inet {} {set} {{ {element} }}\n", self.table)).await;
        run(&format!("add element inet {} {set} {{ {element} timeout {secs}s }}\n", self.table))
            .await
    }

    /// Adds many bans at once (at start, when the decisions in force come back): one `nft`
    /// run per thousand elements, not one per ban.
    pub async fn add_all(&self, decisions: &[Decision], now: Timestamp) -> Result<(), String> {
        for chunk in decisions.chunks(1000) {
            let mut script = String::new();
            for decision in chunk {
                let secs = (decision.expires_at.as_second() - now.as_second()).max(1);
                let (set, element) = self.element(decision)?;
                script.push_str(&format!(
                    "add element inet {} {set} {{ {element} timeout {secs}s }}\n",
                    self.table
                ));
            }
            // Elements still there from before the restart keep their own timeouts.
            if let Err(error) = run(&script).await {
                for decision in chunk {
                    self.add(decision, now).await.map_err(|e| format!("{e} (after {error})"))?;
                }
            }
        }
        Ok(())
    }

    /// Removes a ban's target (rolled back); an element already gone is not an error.
    pub async fn remove(&self, decision: &Decision) -> Result<(), String> {
        let (set, element) = self.element(decision)?;
        match run(&format!("delete element inet {} {set} {{ {element} }}\n", self.table)).await {
            Err(error)
                if !error.contains("No such file or directory")
                    && !error.contains("does not exist") =>
            {
                Err(error)
            }
            _ => Ok(()),
        }
    }

    fn element(&self, decision: &Decision) -> Result<(&'static str, String), String> {
        // The target was checked as an address or range when the decision was taken; check
        // again, since it goes into a script.
        let net: ipnet::IpNet = match decision.target.parse::<std::net::IpAddr>() {
            Ok(ip) => ip.into(),
            Err(_) => decision
                .target
                .parse()
                .map_err(|_| format!("`{}` is not an address or a range", decision.target))?,
        };
        let set = if net.addr().is_ipv4() { "banned4" } else { "banned6" };
        Ok((set, net.to_string()))
    }
}

async fn run(script: &str) -> Result<(), String> {
    let mut child = tokio::process::Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| format!("cannot run nft: {error}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(script.as_bytes()).await.map_err(|e| format!("nft: {e}"))?;
    }
    let output = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .map_err(|_| "nft did not answer within 10 seconds".to_owned())?
        .map_err(|error| format!("nft: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("nft failed: {}", String::from_utf8_lossy(&output.stderr).trim()))
    }
}
