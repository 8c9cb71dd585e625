package dev.selo.redis;

import dev.selo.SafraClient;
import dev.selo.SafraReply;
import dev.selo.SafraSession;
import dev.selo.SafraShare;
import dev.selo.SeloException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.RedisClusterClient;
import redis.clients.jedis.UnifiedJedis;

/**
 * The Java fleet worker (issue 21's contract, shared by every language):
 *
 * <pre>
 * FleetWorker --base-url URL (--redis redis://127.0.0.1:PORT | --cluster host:port[,host:port…])
 *             --name FLEET --seal-key HEX64 --first N --count K --in-flight F
 *             [--cliente CLIENTE01] [--lease-ttl-ms MS] [--timeout-ms MS] [--profile SAFRA_PROFILE_JSON]
 * </pre>
 *
 * registers boletos nossoNumero N..N+K-1 (tests/vectors/safra/boleto-sample.json
 * with nossoNumero and seuNumero "S&lt;n&gt;"), F at a time, through one
 * SafraClient shared with the fleet through Redis, and prints one JSON line:
 * {@code {"lang":"java","registered":…,"errors":[codes],"stats":{…}}}; exits 0
 * iff every boleto was registered. The vectors are found from SELO_VECTORS,
 * -Dselo.vectors, or tests/vectors above the working directory.
 */
public final class FleetWorker {
  private FleetWorker() {}

  static Path vectors() {
    String v = System.getenv("SELO_VECTORS");
    if (v == null || v.isEmpty()) {
      v = System.getProperty("selo.vectors");
    }
    if (v != null && !v.isEmpty()) {
      return Path.of(v);
    }
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      if (Files.isDirectory(d.resolve("tests/vectors/safra"))) {
        return d.resolve("tests/vectors");
      }
    }
    throw new IllegalStateException("tests/vectors not found: set SELO_VECTORS");
  }

  static String boleto(String template, long nosso) {
    String b = template.replaceFirst("\"nossoNumero\":\\s*123456789", "\"nossoNumero\": " + nosso)
        .replaceFirst("\"seuNumero\":\\s*\"0000004021\"", "\"seuNumero\": \"S" + nosso + "\"");
    if (!b.contains("\"S" + nosso + "\"")) {
      throw new IllegalStateException("boleto-sample.json changed");
    }
    return b;
  }

  static UnifiedJedis connect(String redis, String cluster, int timeoutMs) {
    JedisClientConfig config = DefaultJedisClientConfig.builder().connectionTimeoutMillis(Math.min(timeoutMs, 2000))
        .socketTimeoutMillis(Math.min(timeoutMs, 5000)).build();
    if (cluster != null) {
      Set<HostAndPort> nodes = new HashSet<>();
      for (String n : cluster.split(",")) {
        nodes.add(HostAndPort.from(n.trim()));
      }
      return RedisClusterClient.builder().nodes(nodes).clientConfig(config)
          .maxTotalRetriesDuration(Duration.ofMillis(timeoutMs)).build();
    }
    URI u = URI.create(redis);
    return RedisClient.builder().hostAndPort(u.getHost(), u.getPort() < 0 ? 6379 : u.getPort()).clientConfig(config)
        .build();
  }

  public static void main(String[] argv) throws Exception {
    String base = null;
    String redis = null;
    String cluster = null;
    String name = null;
    String seal = null;
    String cliente = "CLIENTE01";
    String profile = "";
    long first = -1;
    int count = -1;
    int inFlight = 1;
    long leaseTtl = SafraShare.DEFAULT_LEASE_TTL_MS;
    int timeoutMs = 30_000;
    for (int i = 0; i < argv.length; i++) {
      String a = argv[i];
      String v = i + 1 < argv.length ? argv[i + 1] : null;
      if (v == null) {
        throw new IllegalArgumentException(a + ": a value is missing");
      }
      i++;
      switch (a) {
        case "--base-url" -> base = v;
        case "--redis" -> redis = v;
        case "--cluster" -> cluster = v;
        case "--name" -> name = v;
        case "--seal-key" -> seal = v;
        case "--first" -> first = Long.parseLong(v);
        case "--count" -> count = Integer.parseInt(v);
        case "--in-flight" -> inFlight = Integer.parseInt(v);
        case "--cliente" -> cliente = v;
        case "--profile" -> profile = v;
        case "--lease-ttl-ms" -> leaseTtl = Long.parseLong(v);
        case "--timeout-ms" -> timeoutMs = Integer.parseInt(v);
        default -> throw new IllegalArgumentException("unknown option " + a);
      }
    }
    if (base == null || (redis == null) == (cluster == null) || name == null || seal == null || first < 0
        || count < 0) {
      System.err.println("usage: FleetWorker --base-url URL (--redis URL | --cluster host:port,...) --name FLEET"
          + " --seal-key HEX64 --first N --count K --in-flight F [--cliente C] [--lease-ttl-ms MS] [--timeout-ms MS] [--profile JSON]");
      System.exit(2);
    }
    String template = Files.readString(vectors().resolve("safra/boleto-sample.json"));
    List<String> errors = new ArrayList<>();
    int registered = 0;
    SafraShare.Stats stats;
    try (UnifiedJedis r = connect(redis, cluster, timeoutMs);
        RedisSafraShare share = new RedisSafraShare(r, name, SafraShare.sealKeyFromHex(seal))) {
      share.leaseTtlMs(leaseTtl);
      SafraSession session = SafraSession.create(profile, base, cliente);
      ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, inFlight));
      try (SafraClient client = SafraClient.overHttp(session, Duration.ofMillis(timeoutMs))
          .waitTimeout(Duration.ofMillis(timeoutMs)).shared(share)) {
        List<Future<SafraReply>> fs = new ArrayList<>();
        for (long n = first; n < first + count; n++) {
          String b = boleto(template, n);
          fs.add(pool.submit(() -> client.registerBoleto(b)));
        }
        for (Future<SafraReply> f : fs) {
          try {
            SafraReply reply = f.get();
            if (reply.kind() == SafraReply.Kind.BOLETO_REGISTERED) {
              registered++;
            } else {
              errors.add("reply." + reply.kind().name().toLowerCase(java.util.Locale.ROOT));
            }
          } catch (java.util.concurrent.ExecutionException e) {
            Throwable c = e.getCause();
            errors.add(c instanceof SeloException s ? s.getCode() : c.getClass().getName());
          }
        }
      } finally {
        pool.shutdownNow();
      }
      stats = share.stats();
    }
    StringBuilder errs = new StringBuilder("[");
    for (int i = 0; i < errors.size(); i++) {
      errs.append(i == 0 ? "" : ",").append('"').append(errors.get(i).replace("\\", "\\\\").replace("\"", "\\\""))
          .append('"');
    }
    errs.append(']');
    System.out.println("{\"lang\":\"java\",\"registered\":" + registered + ",\"errors\":" + errs + ",\"stats\":"
        + stats.toJson() + "}");
    System.out.flush();
    System.exit(registered == count ? 0 : 1);
  }
}
