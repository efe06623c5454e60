"""A stand-in OpenStack cloud for tests, written after the public API references
(docs.openstack.org/api-ref/{identity/v3,compute,image/v2,network/v2}) and checked against what
openstacksdk 4 sends. One HTTP server on 127.0.0.1 holds every service under its own path, as
devstack lays them out; the catalog lists them (region RegionOne, interface public):

  Keystone v3 (identity)                                    api-ref/identity/v3
    GET  /identity/              300, versions {"values": [v3.14]}
    GET  /identity/v3/           the v3 version document
    POST /identity/v3/auth/tokens  password method; user and project by name (domain by name
                                 or id) or by id -> 201, X-Subject-Token, token body (catalog,
                                 project, user, roles, expires_at: an hour); else 401
  Nova v2.1 (compute), microversions 2.1 to 2.96            api-ref/compute
    GET  /compute/  /compute/v2.1/           versions, with min_version and version (max)
    POST /servers                            name, imageRef, flavorRef, networks [{uuid}] |
                                             "auto" | "none" (required from 2.37), key_name,
                                             metadata, tags (2.52+) -> 202
    GET  /servers  /servers/detail           filters name (a regex), status, tags, tags-any,
                                             not-tags, not-tags-any (2.26+), limit
    GET  /servers/{id}    DELETE /servers/{id} (204)
    GET|PUT|DELETE /servers/{id}/tags   GET|PUT|DELETE /servers/{id}/tags/{tag}   (2.26+)
    GET|POST|PUT /servers/{id}/metadata   GET|PUT|DELETE /servers/{id}/metadata/{key}
    POST /servers/{id}/action                os-getConsoleOutput {"length": N} -> {"output"}
    GET  /flavors  /flavors/detail  /flavors/{id}  /flavors/{id}/os-extra_specs
    GET|POST /os-keypairs   GET|DELETE /os-keypairs/{name}
    GET  /limits                             absolute: maxTotalInstances, totalInstancesUsed,
                                             maxTotalCores, totalCoresUsed, maxTotalRAMSize,
                                             totalRAMUsed, ...
  Glance v2 (image)                                         api-ref/image/v2
    GET  /image/  (300)   GET /image/v2/images (name filter)   GET /image/v2/images/{id}
  Neutron v2.0 (network)                                    api-ref/network/v2
    GET  /network/   GET /network/v2.0/networks (name filter)   GET /network/v2.0/networks/{id}

Every request but version discovery and POST auth/tokens needs a valid X-Auth-Token, else
keystonemiddleware's 401. Nova negotiates its microversion from `OpenStack-API-Version: compute
X` or `X-OpenStack-Nova-API-Version: X` (none: 2.1) and names it in both headers of its answer;
400 for a malformed one, 406 out of range. Errors carry each service's documented body (Nova:
{"itemNotFound" | "badRequest" | "conflictingRequest" | "forbidden" | "overLimit": {"code",
"message"}}). An over-quota create (instances, cores, ram from the flavor) is Nova's 403
forbidden "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances", or,
switched to it, the older 413 overLimit with Retry-After: 0.

Each server is a real sshd, run as root, on 127.0.0.1 and a port of its own, with a fresh
ed25519 host key, the key pair's public key as its only authorized key, the login user (the test
cluster's) as its only user and a home folder of its own: HOME, SFTP's start and a command's
working directory are that home (sshd itself would start in the user's passwd home, shared by
all servers), so `cd && pwd` answers a different folder on each. sshd uses PAM, as Debian's
does: without it OpenSSH refuses the test user, whose password is locked, even a key login.
All servers share 127.0.0.1, so the cloud puts each one's SSH port in its metadata as
`ssh_port` (merged with the user's): mso reads a server's SSH port from the metadata key
`ssh_port`, 22 otherwise. A server is BUILD (task_state spawning) until the boot delay (0.3 s
unless set) has passed and its sshd accepts connections, then ACTIVE; its console shows the
kernel booting, then cloud-init's SSH HOST KEY KEYS block and a login prompt. Its tags and
metadata change only while it is ACTIVE (409 conflictingRequest before, as Nova's vm_state
check). Deleting it stops its sshd and every process working in its folder or with its home as
HOME, removes the folder, shows it DELETED for 0.2 s (Store.deleted_visible), then 404. A test
can make the next server go to ERROR with "No valid host was found" (never scheduled: no
machine, console 409) or stay in BUILD for ever; an image or flavor not registered is simply
unknown (404 by id, an empty list by name). Every request is recorded (method, path, query,
headers, body) with passwords and tokens replaced by ***.
"""

from .cloud import Cloud, ServerInfo
from .keys import KeyPair, new_keypair
from .machine import SSHD
from .store import Recorded

__all__ = ["SSHD", "Cloud", "KeyPair", "Recorded", "ServerInfo", "new_keypair"]
