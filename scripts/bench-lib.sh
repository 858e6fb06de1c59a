# Shell functions the benchmark scripts share (sourced; they define die()).

# A loopback port the kernel reports free right now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_for_port PORT WHAT: waits up to 30 s for a listener on 127.0.0.1:PORT.
wait_for_port() {
    local port=$1 what=$2
    for _ in $(seq 1 600); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    die "$what did not listen on port $port"
}

# cpu_ticks_split PID: the process's user and system CPU clock ticks, all its
# threads (/proc/PID/stat), as "USER SYSTEM"; "0 0" once it has gone.
cpu_ticks_split() {
    if [ -r "/proc/$1/stat" ]; then awk '{print $14, $15}' "/proc/$1/stat"; else echo "0 0"; fi
}
