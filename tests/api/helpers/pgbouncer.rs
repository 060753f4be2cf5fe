//! Debian's PgBouncer in transaction mode on loopback, in front of the
//! test's PostgreSQL: a pool of two server connections, so the clients of
//! two instances share them transaction by transaction.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::free_port;

pub struct PgBouncer {
    child: Child,
    dir: std::path::PathBuf,
    pub port: u16,
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl PgBouncer {
    /// In front of PostgreSQL at 127.0.0.1:5432 (where `TEST_DATABASE_URL`
    /// points in CI); `pgbouncer` must be installed (`.ci/run` does it).
    pub async fn start() -> PgBouncer {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("authql-pgbouncer-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let ini = dir.join("pgbouncer.ini");
        std::fs::write(dir.join("users.txt"), "\"postgres\" \"\"\n").unwrap();
        std::fs::write(
            &ini,
            format!(
                "[databases]\n* = host=127.0.0.1 port=5432\n[pgbouncer]\nlisten_addr = 127.0.0.1\n\
                 listen_port = {port}\nunix_socket_dir =\nauth_type = trust\nauth_file = {}/users.txt\n\
                 pool_mode = transaction\ndefault_pool_size = 2\nmax_client_conn = 200\n\
                 ignore_startup_parameters = extra_float_digits,options\nlogfile =\npidfile =\n",
                dir.display()
            ),
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in [dir.clone(), ini.clone(), dir.join("users.txt")] {
                let mode = if f.is_dir() { 0o755 } else { 0o644 };
                std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
            }
        }
        // PgBouncer refuses to run as root: as postgres then.
        let mut command = Command::new("pgbouncer");
        if nix_is_root() {
            command.args(["-u", "postgres"]);
        }
        let child = command
            .arg(&ini)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pgbouncer (Debian's package) is needed for the pooler tests");
        let bouncer = PgBouncer { child, dir, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return bouncer;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("pgbouncer did not start on {port}");
    }

    /// `url` (a test database's) through this PgBouncer.
    pub fn url_for(&self, url: &str) -> String {
        let name = url.rsplit('/').next().unwrap().split('?').next().unwrap();
        format!(
            "postgres://postgres@127.0.0.1:{}/{name}?sslmode=disable",
            self.port
        )
    }
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
