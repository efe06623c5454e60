"""Data: datasets moved with rclone into a content-addressed cache on each host, and large outputs
moved out to a remote, every transfer checked by sha256.

    rclone      the one boundary to rclone: the remote's settings from a declaration's
                `credentials`, the runner's own transfers (rclone-python), listings and hashes
                (the binary), and the command text that runs rclone on a host
    manifest    a folder dataset's manifest (a sha256 per file), computed and read
    cache       `<work_root>/.cache/sha256/<hash>` on a host: one command per batch says what is
                there, puts a finished entry in place atomically, and links entries into tasks
    stagein     stage-in once per run per host: direct (rclone on the host) or relayed (the
                runner's cache, then SFTP), verified on the host before any task starts
    stageout    large outputs to the experiment's `outputs.remote`, checked after the upload
    publish     `publish_outputs`: a catalogue entry per run or task in datasets/

Where rclone-python falls short (rclone.py says why), a thin wrapper runs the binary itself.
"""
