"""Container images: declared, built, pushed to a registry and pinned by digest.

The build side (the `mso build` and `mso recipe` verbs):

    reference   OCI image references: parse(text) -> Reference (registry, repository, tag, digest)
    recipe      an application's recipe and context: content_tag(root, app), recipe_hash(root, app)
    access      which registry an application uses, and the NAMES of its credential variables
    registry    the OCI distribution (v2) client: Registry(host, access).digest(ref)
    builders    ch-image, apptainer/singularity, buildah: pure argv builders, and their runners
    process     running a builder: output streamed, last lines kept, transient failures marked
    artifacts   a file (a SIF) pushed to and pulled from a registry with oras
    convert     Dockerfile <-> Apptainer definition, with spython
    images      .mso/images.json: what was built or resolved (read(root) for the run stage)
    build       `mso build`: ask the registry first, build what it lacks, push, read the digest

The run side (runner/runs/images.py resolves a run's digests and calls these):

    runtime     apptainer, singularity, charliecloud, podman: pure pull and exec command lines
    cache       <work_root>/.images on a host: one fetch command (lock, pull, atomic mv) and its parser

Containers import declarations, transports (the cache's one command) and the base modules only;
the plan imports the recipe hash.
"""
