//! The data dir belongs to one server: a second server on it refuses to start and names
//! the first; a 0-byte or foreign `chainwatch.db` is refused with a clear reason instead
//! of starting as an empty log (issue 14: both used to start and answer 500 or 404).
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use chainwatch::app::Application;
use chainwatch::config::Config;
use common::TestServer;

fn config(data_dir: &std::path::Path) -> Config {
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), data_dir.to_path_buf());
    config.watch.enabled = false;
    config
}

fn refusal(config: Config) -> String {
    match Application::build(config) {
        Ok(_) => panic!("the server started"),
        Err(error) => error.to_string(),
    }
}

#[tokio::test]
async fn a_second_server_on_a_data_dir_refuses_and_names_the_first() {
    let server = TestServer::spawn();
    server.create_session("s").await;
    let data_dir = server.dir.path().join("data");
    let message = refusal(config(&data_dir));
    assert!(
        message.contains("in use by another chainwatch server"),
        "{message}"
    );
    assert!(
        message.contains(&format!("pid {}", std::process::id())),
        "names the holder: {message}"
    );
    // The first one is untouched.
    let (status, _) = server.get("/api/sessions/s").await;
    assert_eq!(status, 200);
    server.stop().await;
}

#[test]
fn an_empty_database_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("chainwatch.db"), b"").unwrap();
    let message = refusal(config(dir.path()));
    assert!(message.contains("empty (0 bytes)"), "{message}");
    assert_eq!(
        std::fs::metadata(dir.path().join("chainwatch.db"))
            .unwrap()
            .len(),
        0,
        "left as it was"
    );
}

#[test]
fn another_programs_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chainwatch.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL);")
        .unwrap();
    drop(conn);
    let message = refusal(config(dir.path()));
    assert!(
        message.contains("another program's SQLite database"),
        "{message}"
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 1, "nothing of ours was added to it");
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("chainwatch.db"),
        b"hello, not sqlite at all",
    )
    .unwrap();
    let message = refusal(config(dir.path()));
    assert!(message.contains("cannot be used"), "{message}");
}
