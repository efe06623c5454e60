"""What a stand-in server's serial console shows: a Debian cloud image booting, and once booted,
cloud-init's report with the SSH host keys between -----BEGIN SSH HOST KEY KEYS----- and
-----END SSH HOST KEY KEYS----- (cloud-init's cc_keys_to_console), then the login prompt."""

from __future__ import annotations

from .keys import sha256_fingerprint

KERNEL = [
    "[    0.000000] Linux version 6.1.0-28-cloud-amd64 (debian-kernel@lists.debian.org) "
    "(gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) "
    "#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)",
    "[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz-6.1.0-28-cloud-amd64 "
    "root=PARTUUID=2b6e5ec5-6a3a-4c4a-9d5e-7e3a2b1c0d9f ro console=tty0 console=ttyS0,115200",
    "[    0.000000] BIOS-provided physical RAM map:",
    "[    0.412345] Run /sbin/init as init process",
    "[    1.023456] systemd[1]: Detected virtualization kvm.",
    "[    1.034567] systemd[1]: Hostname set to <{host}>.",
]
CLOUD_INIT = ("Cloud-init v. 22.4.2 running '{stage}' at Thu, 01 Jan 2026 00:00:0{n} +0000. "
              "Up {n}.5 seconds.")


def boot_lines(hostname: str, host_key: str | None, booted: bool) -> list[str]:
    """The console's lines: the kernel's only while it boots, all of it once booted."""
    lines = [line.format(host=hostname) for line in KERNEL]
    if not booted:
        return lines
    lines += [CLOUD_INIT.format(stage="init-local", n=2), CLOUD_INIT.format(stage="init", n=3),
              "ci-info: ++++++++++++++++++++++++Net device info+++++++++++++++++++++++++",
              "ci-info: | Device |  Up  |  Address  |    Mask   | Scope | Hw-Address |",
              CLOUD_INIT.format(stage="modules:final", n=7)]
    if host_key:
        comment = host_key.split(maxsplit=2)[2] if host_key.count(" ") >= 2 else ""
        stamp = "<14>Jan  1 00:00:08 cloud-init: "
        rule = "#" * 61
        lines += [stamp + rule, stamp + "-----BEGIN SSH HOST KEY FINGERPRINTS-----",
                  f"{stamp}256 {sha256_fingerprint(host_key)} {comment} (ED25519)",
                  stamp + "-----END SSH HOST KEY FINGERPRINTS-----", stamp + rule,
                  "-----BEGIN SSH HOST KEY KEYS-----", host_key, "-----END SSH HOST KEY KEYS-----"]
    return lines + [
        "Cloud-init v. 22.4.2 finished at Thu, 01 Jan 2026 00:00:09 +0000. "
        "Datasource DataSourceOpenStackLocal [net,ver=2].  Up 9.58 seconds",
        "", f"Debian GNU/Linux 12 {hostname} ttyS0", "", f"{hostname} login: "]


def tail(lines: list[str], length: int | None) -> str:
    """The last `length` lines (all of them for None or -1), as os-getConsoleOutput answers."""
    if length is not None and length >= 0:
        lines = lines[len(lines) - length:] if length else []
    return "".join(line + "\n" for line in lines)
