//! Network: nothing reaches the host. The host listens on an abstract unix socket (abstract
//! names are per network namespace), TCP/UDP to loopback, raw and packet sockets, bringing `lo`
//! up by ioctl or rtnetlink all fail. (AF_VSOCK, which no net namespace confines, is refused by
//! the seccomp filter: `syscalls::socket_families_outside_the_netns`.)

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener};

use libtest_mimic::{Failed, Trial};

use super::{compile, field, run_bin};
use crate::harness::{check, limits, pool};

pub fn tests() -> Vec<Trial> {
    vec![Trial::test("attacks::network::no_way_out", no_way_out)]
}

fn no_way_out() -> Result<(), Failed> {
    let bin = compile("net", include_str!("c/net.c"), &[])?;
    let name = format!("shardbox-attack-{}", std::process::id());
    let listener = UnixListener::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes())?)?;
    listener.set_nonblocking(true)?;
    let mut c = pool().get()?;
    let r = run_bin(&mut c, "net", &bin, &[&name], limits())?;
    r.exited(0)?;
    // Nothing connected to the host's socket.
    check(listener.accept().is_err(), || "a program reached the host's abstract socket".into())?;
    let expect = [
        ("abstract_connect", "-1 111"), // ECONNREFUSED: no such name in this namespace
        ("tcp_connect", "-1 101"),      // ENETUNREACH: lo is down, no route
        ("udp_sendto", "-1 101"),
        ("raw_socket", "-1 1"),     // EPERM: no CAP_NET_RAW
        ("packet_socket", "-1 97"), // EAFNOSUPPORT: family refused by the filter
        ("lo_up", "-1 1"),          // EPERM: no CAP_NET_ADMIN
        ("netlink_newlink", "-1"),  // -EPERM in the netlink error message
        ("interface", "lo"),
        ("lo_flags_up", "0"),
    ];
    for (what, want) in expect {
        check(field(&r, what) == Some(want), || format!("{what}: want {want}: {r:?}"))?;
    }
    check(r.stdout.matches("interface ").count() == 1, || format!("interfaces: {r:?}"))?;
    Ok(())
}
