"""How mso reaches a host: run a shell command, put and get files. Local and SSH (paramiko)."""
