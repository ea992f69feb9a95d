//! A Debian `redis-server` for a test: on a free loopback port, without
//! persistence, stopped when the value drops. `make test` installs the
//! package (infra/setup.sh); a machine without it FAILS with that command.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        let binary = Path::new("/usr/bin/redis-server");
        assert!(
            binary.is_file(),
            "this test needs Debian's redis-server: run `OMNI_SETUP_TESTS=1 source infra/setup.sh` (apt-get install redis-server)"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = tempfile::tempdir().expect("a directory for redis");
        let child = Command::new(binary)
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let until = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < until,
                "redis-server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        RedisServer {
            child,
            port,
            _dir: dir,
        }
    }

    /// `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// `GET key` over RESP, as any Redis client sees the value.
    pub fn get(&self, key: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis");
        write!(stream, "*2\r\n${}\r\nGET\r\n${}\r\n{key}\r\n", 3, key.len()).expect("send GET");
        let mut buf = [0u8; 4096];
        let n = stream.read(&mut buf).expect("read the reply");
        let reply = String::from_utf8_lossy(&buf[..n]).into_owned();
        (!reply.starts_with("$-1"))
            .then(|| reply.split("\r\n").nth(1).unwrap_or_default().to_owned())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
