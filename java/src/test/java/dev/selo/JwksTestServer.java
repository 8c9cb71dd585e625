package dev.selo;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real local HTTP server (com.sun.net.httpserver on 127.0.0.1, port 0) for
 * the remote-JWKS tests: the handler is swappable, hits are counted.
 */
final class JwksTestServer implements AutoCloseable {
  /** What the server does with one request. */
  interface Handler {
    void handle(HttpExchange ex) throws IOException, InterruptedException;
  }

  final HttpServer server;
  final ExecutorService pool = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "jwks-test-server");
    t.setDaemon(true);
    return t;
  });
  final AtomicInteger hits = new AtomicInteger();
  volatile Handler handler;

  JwksTestServer(Handler handler) throws IOException {
    this.handler = handler;
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", ex -> {
      hits.incrementAndGet();
      try {
        this.handler.handle(ex);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (IOException e) {
        // the client went away (a cancelled fetch): nothing to answer
      } finally {
        ex.close();
      }
    });
    server.setExecutor(pool);
    server.start();
  }

  /** Serves {@code body} as a 200 application/json. */
  static Handler json(String body) {
    return ex -> send(ex, 200, body);
  }

  static void send(HttpExchange ex, int status, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("content-type", "application/json");
    ex.sendResponseHeaders(status, b.length == 0 ? -1 : b.length);
    if (b.length > 0) {
      ex.getResponseBody().write(b);
    }
  }

  String url(String path) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + path;
  }

  @Override
  public void close() {
    server.stop(0);
    pool.shutdownNow();
  }
}
