"""Every endpoint of the stand-in, by service, as its API reference names the path."""

from __future__ import annotations

from . import flavors_keypairs as fk
from . import identity, images_networks, server_parts, servers, versions
from .wsgi import Route

C = "/compute/v2.1"
S = f"{C}/servers/<server_id>"

IDENTITY = [Route("/identity/", "GET", identity.versions, "identity", public=True),
            Route("/identity/v3/", "GET", identity.version, "identity", public=True),
            Route("/identity/v3/auth/tokens", "POST", identity.tokens, "identity", public=True)]

SERVERS = [(f"{C}/servers", "POST", servers.create), (f"{C}/servers", "GET", servers.index),
           (f"{C}/servers/detail", "GET", servers.index_detail), (S, "GET", servers.show),
           (S, "DELETE", servers.delete), (f"{S}/action", "POST", server_parts.action)]

SERVER_PARTS = [(f"{S}/tags", "GET", server_parts.tags),
                (f"{S}/tags", "PUT", server_parts.replace_tags),
                (f"{S}/tags", "DELETE", server_parts.delete_tags),
                (f"{S}/tags/<tag>", "GET", server_parts.check_tag),
                (f"{S}/tags/<tag>", "PUT", server_parts.add_tag),
                (f"{S}/tags/<tag>", "DELETE", server_parts.remove_tag),
                (f"{S}/metadata", "GET", server_parts.metadata),
                (f"{S}/metadata", "POST", server_parts.update_metadata),
                (f"{S}/metadata", "PUT", server_parts.update_metadata),
                (f"{S}/metadata/<key>", "GET", server_parts.metadata_item),
                (f"{S}/metadata/<key>", "PUT", server_parts.set_metadata_item),
                (f"{S}/metadata/<key>", "DELETE", server_parts.delete_metadata_item)]

COMPUTE_OTHER = [(f"{C}/flavors", "GET", fk.flavors),
                 (f"{C}/flavors/detail", "GET", fk.flavors_detail),
                 (f"{C}/flavors/<flavor_id>", "GET", fk.flavor),
                 (f"{C}/flavors/<flavor_id>/os-extra_specs", "GET", fk.extra_specs),
                 (f"{C}/os-keypairs", "GET", fk.keypairs),
                 (f"{C}/os-keypairs", "POST", fk.create_keypair),
                 (f"{C}/os-keypairs/<name>", "GET", fk.keypair),
                 (f"{C}/os-keypairs/<name>", "DELETE", fk.delete_keypair),
                 (f"{C}/limits", "GET", fk.limits)]

COMPUTE = [Route("/compute/", "GET", versions.compute_versions, "compute", public=True),
           Route(f"{C}/", "GET", versions.compute_version, "compute", public=True),
           *(Route(path, method, handler, "compute")
             for path, method, handler in SERVERS + SERVER_PARTS + COMPUTE_OTHER)]

IMAGE = [Route("/image/", "GET", versions.image_versions, "image", public=True),
         Route("/image/v2/images", "GET", images_networks.images, "image"),
         Route("/image/v2/images/<image_id>", "GET", images_networks.image, "image")]

NETWORK = [Route("/network/", "GET", versions.network_versions, "network", public=True),
           Route("/network/v2.0/networks", "GET", images_networks.networks, "network"),
           Route("/network/v2.0/networks/<network_id>", "GET", images_networks.network,
                 "network")]

ROUTES = IDENTITY + COMPUTE + IMAGE + NETWORK
