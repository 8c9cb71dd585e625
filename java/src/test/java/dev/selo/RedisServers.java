package dev.selo;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * redis-server processes on free loopback ports for the tests: one server,
 * or three joined into a Redis Cluster. A test fails (never skips) when
 * redis-server is missing. Killed on close.
 */
final class RedisServers implements AutoCloseable {
  final List<Integer> ports = new ArrayList<>();
  private final List<Process> processes = new ArrayList<>();
  private final Path dir;

  private RedisServers() throws IOException {
    dir = Files.createTempDirectory("selo-java-redis");
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  static String redisServer() {
    for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
      Path p = Path.of(d.isEmpty() ? "." : d, "redis-server");
      if (Files.isExecutable(p)) {
        return p.toString();
      }
    }
    fail("redis-server is not on PATH (Debian: apt-get install redis-server; scripts/setup installs it)");
    return null;
  }

  private void start(String... extra) throws IOException, InterruptedException {
    start(freePort(), extra);
  }

  /** Stops the servers (their ports stay known: {@link #restart}). */
  void stop() throws InterruptedException {
    for (Process p : processes) {
      p.destroyForcibly();
    }
    for (Process p : processes) {
      p.waitFor(10, TimeUnit.SECONDS);
    }
    processes.clear();
  }

  /** Starts a single server again on the port it had (empty). */
  void restart() throws IOException, InterruptedException {
    int port = ports.remove(0);
    start(port);
  }

  private void start(int port, String... extra) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(redisServer(), "--port", Integer.toString(port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no", "--dir", dir.toString()));
    for (String e : extra) {
      cmd.add(e.replace("PORT", Integer.toString(port)));
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(dir.resolve("redis-" + port + ".log").toFile()).start();
    processes.add(p);
    ports.add(port);
    long until = System.nanoTime() + 10_000_000_000L;
    while (true) {
      try (Socket s = new Socket("127.0.0.1", port)) {
        return;
      } catch (IOException e) {
        if (!p.isAlive() || System.nanoTime() > until) {
          fail("redis-server did not start on " + port + ": " + Files.readString(dir.resolve("redis-" + port + ".log")));
        }
        Thread.sleep(20);
      }
    }
  }

  /** One server. */
  static RedisServers single() throws Exception {
    RedisServers r = new RedisServers();
    try {
      r.start();
    } catch (Throwable t) {
      r.close();
      throw t;
    }
    return r;
  }

  /** Three masters joined with redis-cli --cluster create. */
  static RedisServers cluster() throws Exception {
    RedisServers r = new RedisServers();
    try {
      for (int i = 0; i < 3; i++) {
        r.start("--cluster-enabled", "yes", "--cluster-config-file", r.dir.resolve("nodes-PORT.conf").toString());
      }
      List<String> cmd = new ArrayList<>(List.of("redis-cli", "--cluster", "create"));
      for (int p : r.ports) {
        cmd.add("127.0.0.1:" + p);
      }
      cmd.addAll(List.of("--cluster-replicas", "0", "--cluster-yes"));
      Process c = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(c.getInputStream().readAllBytes());
      assertTrue(c.waitFor(30, TimeUnit.SECONDS) && c.exitValue() == 0, out);
      // Wait until every node says the cluster is ok.
      long until = System.nanoTime() + 20_000_000_000L;
      for (int p : r.ports) {
        while (true) {
          Process i = new ProcessBuilder("redis-cli", "-p", Integer.toString(p), "cluster", "info").start();
          String info = new String(i.getInputStream().readAllBytes());
          i.waitFor();
          if (info.contains("cluster_state:ok")) {
            break;
          }
          if (System.nanoTime() > until) {
            fail("cluster not ok on " + p + ": " + info);
          }
          Thread.sleep(50);
        }
      }
    } catch (Throwable t) {
      r.close();
      throw t;
    }
    return r;
  }

  int port() {
    return ports.get(0);
  }

  String url() {
    return "redis://127.0.0.1:" + port();
  }

  String clusterNodes() {
    StringBuilder b = new StringBuilder();
    for (int p : ports) {
      b.append(b.length() == 0 ? "" : ",").append("127.0.0.1:").append(p);
    }
    return b.toString();
  }

  @Override
  public void close() throws InterruptedException {
    for (Process p : processes) {
      p.destroyForcibly();
    }
    for (Process p : processes) {
      p.waitFor(10, TimeUnit.SECONDS);
    }
    try (var s = Files.walk(dir)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException ignored) {
      // best effort
    }
  }
}
