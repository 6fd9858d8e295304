# Sourced by the server benchmarks (server-bench.sh, instructions.sh, floor-bench.sh): the fixed answer the
# baselines give, and nginx's configuration for giving it, so that every server answers the same bytes.

# bench_prelude NAME PACKAGES TOOL...: stops unless every TOOL is installed (naming the Debian PACKAGES),
# then makes the work directory $work (/tmp/nonroot-NAME.XXXXXX) and kills the processes in $pids on exit.
bench_prelude() {
    local name=$1 packages=$2 tool
    shift 2
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install $packages)" >&2; exit 2; }
    done
    work=$(mktemp -d "/tmp/nonroot-$name.XXXXXX")
    pids=()
    trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done' EXIT
}

# static_answer BIN BODY CATALOG: prints the AdmissionReview `BIN serve` answers for BODY with CATALOG.
static_answer() {
    "$1" replay "$2" --images "$3" --format json | python3 -c '
import json, sys
r = json.loads(sys.stdin.readline())["response"]
sys.stdout.write(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": r}, separators=(",", ":")))'
}

# nginx_static_conf WORK PORT WORKERS ANSWER: writes WORK/nginx.conf, nginx answering the text ANSWER to
# POST /validate on 127.0.0.1:PORT over TLS (WORK/tls.crt, WORK/tls.key; HTTP/1.1 and HTTP/2 by ALPN).
# WORKERS=1 runs one process without a master, for callgrind. Start it with `nginx -c WORK/nginx.conf -p WORK`.
nginx_static_conf() {
    local work=$1 port=$2 workers=$3 answer=$4 master=""
    [ "$workers" = 1 ] && master="master_process off;"
    mkdir -p "$work/nginx"
    cat > "$work/nginx.conf" <<NGINX
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
$master
daemon off;
worker_processes $workers;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    client_body_buffer_size 64k;
    server {
        listen 127.0.0.1:$port ssl http2;
        ssl_certificate $work/tls.crt;
        ssl_certificate_key $work/tls.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        location = /validate {
            default_type application/json;
            echo_read_request_body;
            echo -n '$answer';
        }
    }
}
NGINX
}
