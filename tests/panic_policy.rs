//! The panic hook `run` installs, in a child process (this test binary run again): a panic inside
//! a request or job boundary is survived, one anywhere else aborts the process.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use summarybot::panic_policy::{contain, install, Boundary};

/// Environment variable naming the child's role: `inside` or `outside`.
const ROLE: &str = "SUMMARYBOT_TEST_PANIC_ROLE";

/// The child: install the hook, panic where the role says, then report surviving.
#[test]
fn child() {
    let Ok(role) = std::env::var(ROLE) else {
        return; // run by the parent only
    };
    install();
    match role.as_str() {
        "inside" => {
            let request = std::thread::spawn(|| {
                let _inside = Boundary::enter();
                std::panic::catch_unwind(|| panic!("a request handler bug"))
            });
            assert!(request.join().expect("thread").is_err());
            let runtime = tokio::runtime::Runtime::new().expect("runtime");
            let job = runtime.block_on(contain(async { panic!("a job bug") }));
            assert_eq!(job, Err::<(), _>("a job bug".to_string()));
        }
        _ => {
            let _ = std::thread::spawn(|| panic!("a bug in a background thread")).join();
        }
    }
    println!("SURVIVED");
}

fn run_child(role: &str) -> std::process::Output {
    Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "child", "--nocapture", "--test-threads", "1"])
        .env(ROLE, role)
        .output()
        .expect("run the child")
}

#[test]
fn a_panic_in_a_request_or_job_is_survived_and_anywhere_else_aborts() {
    let inside = run_child("inside");
    let out = String::from_utf8_lossy(&inside.stdout);
    assert!(
        inside.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&inside.stderr)
    );
    assert!(out.contains("SURVIVED"), "{out}");

    let outside = run_child("outside");
    let out = String::from_utf8_lossy(&outside.stdout);
    assert_eq!(
        outside.status.signal(),
        Some(6),
        "SIGABRT expected: {:?} {out}",
        outside.status
    );
    assert!(!out.contains("SURVIVED"), "{out}");
}
