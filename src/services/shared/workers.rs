//! Background work that survives faults (API.md §8.1). Each background
//! task runs under `supervise`: if it ends while the server runs (a panic,
//! or a return it should not make) it is logged and started again after a
//! pause, and while it is down `/readyz` answers 503, so a load balancer
//! sends traffic elsewhere until it is back.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

/// How long a task that died waits before it is started again.
const RESTART_AFTER: Duration = Duration::from_secs(1);

/// Which background tasks are running, by name.
#[derive(Default)]
pub struct Workers {
    up: Mutex<BTreeMap<&'static str, bool>>,
}

impl Workers {
    fn set(&self, name: &'static str, up: bool) {
        if let Ok(mut map) = self.up.lock() {
            map.insert(name, up);
        }
    }

    /// The first task that is not running, if any.
    pub fn down(&self) -> Option<&'static str> {
        let map = self.up.lock().ok()?;
        map.iter().find(|(_, up)| !**up).map(|(name, _)| *name)
    }
}

/// Runs `task` until `stop` turns true, starting it again whenever it ends
/// before then. `task` makes a fresh run each time.
#[tracing::instrument(skip_all)]
pub async fn supervise<F, Fut>(
    workers: Arc<Workers>,
    name: &'static str,
    mut stop: watch::Receiver<bool>,
    task: F,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    loop {
        workers.set(name, true);
        let ended = tokio::spawn(task()).await;
        if *stop.borrow() {
            return;
        }
        workers.set(name, false);
        match ended {
            Err(e) if e.is_panic() => {
                tracing::error!(task = name, "background task panicked; restarting it")
            }
            _ => tracing::error!(task = name, "background task stopped; restarting it"),
        }
        tokio::select! {
            _ = tokio::time::sleep(RESTART_AFTER) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_task_that_dies_is_down_then_restarted() {
        let workers = Arc::new(Workers::default());
        let (stop, stopped) = watch::channel(false);
        let runs = Arc::new(AtomicU32::new(0));
        let counted = runs.clone();
        let supervisor = tokio::spawn(supervise(workers.clone(), "flaky", stopped, move || {
            let run = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                if run == 0 {
                    panic!("the first run dies");
                }
                std::future::pending::<()>().await;
            }
        }));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(workers.down(), Some("flaky"));
        tokio::time::sleep(RESTART_AFTER).await;
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(workers.down(), None);
        stop.send(true).unwrap();
        // The running task is not stopped by the flag; the test ends here.
        supervisor.abort();
    }
}
