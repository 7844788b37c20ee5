#!/usr/bin/env bash
# Makes sure the servers the tests talk to are running, installing them from the Debian
# packages where missing. Sourced by scripts/test.sh; exports the URLs tests read.
#
#   PostgreSQL 15+ on 127.0.0.1:5432 -> TRADECRAFT_TEST_POSTGRES (an admin URL; each test
#   creates and drops its own database)
#   Apache Kafka 4 -> TRADECRAFT_TEST_KAFKA (see ensure_kafka below)
#   Redis 7 -> TRADECRAFT_TEST_REDIS (see ensure_redis below)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs Debian packages: apt_install WHAT PACKAGE...
apt_install() {
    echo "installing $1 (Debian packages)"
    shift
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

as_postgres() {
    if command -v runuser >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        sudo -u postgres "$@"
    fi
}

ensure_postgres() {
    export TRADECRAFT_TEST_POSTGRES="${TRADECRAFT_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
    # The client (psql, pg_ctlcluster) can be installed without the server: look for the
    # server's own binaries.
    if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 \
        || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        apt_install "PostgreSQL" postgresql
    fi
    if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
        local version
        version="$(ls /usr/lib/postgresql/*/bin/postgres | awk -F/ '{print $5}' | sort -V | tail -n 1)"
        if ! pg_lsclusters -h 2>/dev/null | grep -q "^${version} main"; then
            as_root pg_createcluster "$version" main
        fi
        echo "starting PostgreSQL $version"
        as_root pg_ctlcluster "$version" main start
        for _ in $(seq 1 30); do
            pg_isready -h 127.0.0.1 -p 5432 -q && break
            sleep 1
        done
    fi
    if ! psql "$TRADECRAFT_TEST_POSTGRES" -qtAc 'SELECT 1' >/dev/null 2>&1; then
        # A stock install asks for a password on TCP: give the postgres role one (through
        # the local peer login) and use it.
        as_postgres psql -qc "ALTER USER postgres PASSWORD 'tradecraft'"
        export TRADECRAFT_TEST_POSTGRES="postgres://postgres:tradecraft@127.0.0.1:5432/postgres"
    fi
    psql "$TRADECRAFT_TEST_POSTGRES" -qtAc 'SELECT 1' >/dev/null
    echo "PostgreSQL ready: $(psql "$TRADECRAFT_TEST_POSTGRES" -qtAc 'SHOW server_version')"
}

#   Apache Kafka 4 (KRaft, one node) on a free loopback port -> TRADECRAFT_TEST_KAFKA
#   (host:port; each test uses its own topic prefix). The broker's jars come from Maven
#   Central (scripts/kafka/pom.xml) into a cache folder; the broker lives for this run
#   and is stopped by stop_kafka. TRADECRAFT_KAFKA_LIBS names the jars, for tests that run
#   (and restart) a broker of their own.

kafka_cache() {
    echo "${TRADECRAFT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tradecraft}/kafka-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' scripts/kafka/pom.xml)"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ensure_kafka() {
    # The broker jars, for tests that run a broker of their own (restarting it mid-test).
    export TRADECRAFT_KAFKA_LIBS="$(kafka_cache)/libs"
    if [ -n "${TRADECRAFT_TEST_KAFKA:-}" ] && [ -f "$(kafka_cache)/complete" ] \
        && (echo >"/dev/tcp/${TRADECRAFT_TEST_KAFKA%:*}/${TRADECRAFT_TEST_KAFKA##*:}") 2>/dev/null; then
        echo "Kafka ready (given): $TRADECRAFT_TEST_KAFKA"
        return
    fi
    if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
        apt_install "Java 17 and Maven" openjdk-17-jre-headless maven
    fi
    local cache libs
    cache="$(kafka_cache)"
    libs="$cache/libs"
    if [ ! -f "$cache/complete" ]; then
        echo "fetching the Apache Kafka broker jars from Maven Central into $cache"
        rm -rf "$libs"
        mvn -q -B -Dstyle.color=never -f scripts/kafka/pom.xml dependency:copy-dependencies -DoutputDirectory="$libs" -DincludeScope=runtime
        touch "$cache/complete"
    fi
    local run port controller
    run="$(mktemp -d "${TMPDIR:-/tmp}/tradecraft-kafka.XXXXXX")"
    port="$(free_port)"
    controller="$(free_port)"
    cat >"$run/server.properties" <<PROPERTIES
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$run/data
auto.create.topics.enable=false
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPERTIES
    java -cp "$libs/*" kafka.tools.StorageTool format -t "$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)" \
        -c "$run/server.properties" >"$run/format.log" 2>&1
    echo "starting Apache Kafka on 127.0.0.1:$port (log: $run/broker.log)"
    nohup java -Xms256m -Xmx768m -cp "$libs/*" kafka.Kafka "$run/server.properties" >"$run/broker.log" 2>&1 &
    echo $! >"$run/pid"
    export TRADECRAFT_KAFKA_RUN="$run"
    export TRADECRAFT_TEST_KAFKA="127.0.0.1:$port"
    for _ in $(seq 1 120); do
        if java -cp "$libs/*" org.apache.kafka.tools.TopicCommand --bootstrap-server "$TRADECRAFT_TEST_KAFKA" --list >/dev/null 2>&1; then
            echo "Kafka ready: $TRADECRAFT_TEST_KAFKA"
            return
        fi
        if ! kill -0 "$(cat "$run/pid")" 2>/dev/null; then
            break
        fi
        sleep 0.5
    done
    echo "error: the Kafka broker did not start; its log:" >&2
    tail -n 40 "$run/broker.log" >&2
    return 1
}

stop_kafka() {
    if [ -n "${TRADECRAFT_KAFKA_RUN:-}" ] && [ -f "$TRADECRAFT_KAFKA_RUN/pid" ]; then
        kill "$(cat "$TRADECRAFT_KAFKA_RUN/pid")" 2>/dev/null || true
        wait "$(cat "$TRADECRAFT_KAFKA_RUN/pid")" 2>/dev/null || true
        rm -rf "$TRADECRAFT_KAFKA_RUN"
    fi
}

#   Chromium from Debian's packages, for the web app's end-to-end tests (Playwright drives
#   it; Playwright's own browser download cannot work here) -> CHROMIUM_PATH
ensure_chromium() {
    local found
    found="$(command -v chromium || command -v chromium-browser || true)"
    if [ -z "$found" ]; then
        apt_install "Chromium" chromium
        found="$(command -v chromium)"
    fi
    export CHROMIUM_PATH="$found"
    echo "Chromium ready: $("$CHROMIUM_PATH" --version 2>/dev/null | head -n 1)"
}

#   Redis 7 from Debian's packages on a free loopback port, for this run ->
#   TRADECRAFT_TEST_REDIS (redis://127.0.0.1:PORT; each test uses its own key prefix).
#   No persistence; stopped by stop_redis.
ensure_redis() {
    if ! command -v redis-server >/dev/null 2>&1; then
        apt_install "Redis" redis-server
    fi
    if [ -n "${TRADECRAFT_TEST_REDIS:-}" ] && redis-cli -u "$TRADECRAFT_TEST_REDIS" ping >/dev/null 2>&1; then
        echo "Redis ready: $TRADECRAFT_TEST_REDIS"
        return
    fi
    local port run
    port="$(free_port)"
    run="$(mktemp -d "${TMPDIR:-/tmp}/tradecraft-redis.XXXXXX")"
    export TRADECRAFT_REDIS_RUN="$run"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$run" \
        --daemonize yes --pidfile "$run/redis.pid" --logfile "$run/redis.log"
    export TRADECRAFT_TEST_REDIS="redis://127.0.0.1:$port"
    for _ in $(seq 1 50); do
        if redis-cli -p "$port" ping >/dev/null 2>&1; then
            echo "Redis ready: $TRADECRAFT_TEST_REDIS ($(redis-server --version | awk '{print $3}'))"
            return
        fi
        sleep 0.1
    done
    echo "error: Redis did not start; its log:" >&2
    tail -n 20 "$run/redis.log" >&2
    return 1
}

stop_redis() {
    if [ -n "${TRADECRAFT_REDIS_RUN:-}" ] && [ -f "$TRADECRAFT_REDIS_RUN/redis.pid" ]; then
        kill "$(cat "$TRADECRAFT_REDIS_RUN/redis.pid")" 2>/dev/null || true
        rm -rf "$TRADECRAFT_REDIS_RUN"
    fi
}
