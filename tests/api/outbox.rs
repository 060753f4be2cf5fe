//! The outbox under faults and backlogs (API.md §8.1): undeliverable mail
//! is given up after MAIL_MAX_ATTEMPTS, and sign-in codes jump the queue.

use std::time::{Duration, Instant};

use entity::email_outbox;
use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder};

use crate::helpers::{PASSWORD, TestApp, smtp, spawn_app, spawn_app_with};

async fn rows(app: &TestApp) -> Vec<email_outbox::Model> {
    email_outbox::Entity::find()
        .order_by_asc(email_outbox::Column::CreatedAt)
        .all(&app.db_conn().await)
        .await
        .unwrap()
}

/// A mail server that never answers used to mean retries forever, the
/// message's live link kept in the database all along.
#[tokio::test]
async fn undeliverable_mail_is_given_up_after_its_attempts_and_holds_no_secret() {
    let port = crate::helpers::free_port();
    let url = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app_with(&[("EMAIL_URL", &url), ("MAIL_MAX_ATTEMPTS", "2")]).await;
    app.register("nowhere@example.com", PASSWORD).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let dead = loop {
        let row = rows(&app).await.remove(0);
        if row.dead_at.is_some() {
            break row;
        }
        assert!(Instant::now() < deadline, "never given up: {row:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(dead.attempts, 2);
    assert!(dead.sent_at.is_none() && dead.last_error.is_some());
    assert!(dead.text_body.is_empty() && dead.html_body.is_empty());

    // Given up is given up: a mail server that comes back gets nothing.
    let sink = smtp::SmtpSink::start(port).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(sink.received.lock().unwrap().is_empty());
    assert_eq!(rows(&app).await[0].attempts, 2);
}

/// Behind a backlog of other mail, a sign-in code is sent first.
#[tokio::test]
async fn a_sign_in_code_jumps_a_backlog() {
    let app = spawn_app().await;
    let db = app.db_conn().await;
    let due = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    for i in 0..13 {
        let urgent = i == 12;
        email_outbox::Entity::insert(email_outbox::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            to_address: Set(format!("queue{i}@example.com")),
            subject: Set(if urgent {
                "Your sign-in code"
            } else {
                "Newsletter"
            }
            .to_owned()),
            text_body: Set("body".to_owned()),
            html_body: Set("<p>body</p>".to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(due),
            lease_until: Set(None),
            sent_at: Set(None),
            last_error: Set(None),
            created_at: Set(chrono::Utc::now() - chrono::Duration::seconds(60 - i)),
            urgent: Set(urgent),
            dead_at: Set(None),
        })
        .exec_without_returning(&db)
        .await
        .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let sent = loop {
        let all = rows(&app).await;
        if all.iter().all(|r| r.sent_at.is_some()) {
            break all;
        }
        assert!(Instant::now() < deadline, "the backlog was not delivered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let code_sent = sent[12].sent_at.unwrap();
    let before = sent[..12]
        .iter()
        .filter(|r| r.sent_at.unwrap() < code_sent)
        .count();
    // The worker takes 10 at a time: the code, created last, is in the first.
    assert!(before < 10, "{before} older messages went before the code");
}

/// Processes killed while they held a claim on a message (here stuck
/// talking to a mail server that accepts and never answers), at different
/// moments of their work: another instance sends every message within 60
/// seconds of the kills (API.md §8.10). The lease was five minutes, so a
/// crash delayed mail by as much. The race runs several times at once.
#[tokio::test]
async fn mail_killed_processes_had_claimed_is_sent_within_a_minute() {
    const ROUNDS: u64 = 4;
    let app = spawn_app().await;
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("smtp://127.0.0.1:{}", silent.local_addr().unwrap().port());
    let held = std::thread::spawn(move || {
        // Accept and say nothing, until the test ends.
        let mut open = Vec::new();
        while let Ok((conn, _)) = silent.accept() {
            open.push(conn);
            if open.len() > 40 {
                break;
            }
        }
    });
    let rounds = (0..ROUNDS).map(|round| {
        let (app, silent_url) = (&app, silent_url.clone());
        async move {
            let env = [("EMAIL_URL", silent_url.as_str())];
            let stuck =
                crate::helpers::spawn_process(&app.db.url, &app.mail_dir, &env).await;
            let email = format!("late{round}@example.com");
            let body = app
                .gql_at(
                    &stuck.base,
                    None,
                    serde_json::json!({
                        "query": "mutation($i: RegisterInput!) { register(input: $i) { email } }",
                        "variables": { "i": { "email": email, "password": PASSWORD, "confirmPassword": PASSWORD } },
                    }),
                )
                .await;
            assert!(body["errors"].is_null(), "{body}");
            // Killed at another moment in each round: while claiming, or
            // hanging in the SMTP greeting.
            tokio::time::sleep(Duration::from_millis(100 + 500 * round)).await;
            let mut stuck = stuck;
            stuck.child.kill().unwrap();
            stuck.child.wait().unwrap();
            email
        }
    });
    let emails = futures_util::future::join_all(rounds).await;
    let began = Instant::now();
    // `app`, on the same database, delivers to the mail directory.
    for email in &emails {
        let left = Duration::from_secs(60).saturating_sub(began.elapsed());
        let mails = crate::helpers::mail::wait_for_within(&app.mail_dir, email, 1, left).await;
        assert_eq!(
            mails.len(),
            1,
            "{email}: not delivered within 60 s of the crash"
        );
    }
    assert!(began.elapsed() < Duration::from_secs(60));
    drop(held);
}
