//! The built `authql` binary as a separate process: a second instance on the
//! same database for cross-instance rules (two apps in one test process would
//! share statics and could hide bugs), and signal handling.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::app::test_vars;

pub struct ProcessApp {
    pub child: Child,
    pub base: String,
}

/// Starts `authql serve` against `database_url` on a free port and waits
/// until `/healthz` answers.
pub async fn spawn_process(
    database_url: &str,
    mail_dir: &std::path::Path,
    overrides: &[(&str, &str)],
) -> ProcessApp {
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let mut vars = test_vars(database_url, mail_dir, overrides);
    vars.insert("BIND_ADDR".into(), bind.clone());
    vars.insert("RUST_LOG".into(), "warn".into());
    let workdir = std::env::temp_dir().join(format!("authql-proc-{port}"));
    std::fs::create_dir_all(&workdir).expect("work dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_authql"))
        .arg("serve")
        .current_dir(&workdir)
        .env_clear()
        .envs(vars)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start authql");
    let base = format!("http://{bind}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(resp) = client.get(format!("{base}/healthz")).send().await
            && resp.status().is_success()
        {
            return ProcessApp { child, base };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("authql did not become healthy at {base}");
}

impl ProcessApp {
    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().expect("wait for authql");
        std::mem::forget(self);
        status
    }
}

impl Drop for ProcessApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on (yet): for a second instance, or a
/// mail server that is down until a test starts one there.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
