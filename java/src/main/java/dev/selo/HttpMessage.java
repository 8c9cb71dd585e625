package dev.selo;

import java.util.List;
import java.util.Optional;

/** HTTP messages as plain data: what selo asks you to send, what you received. */
public final class HttpMessage {
  private HttpMessage() {}

  /** One header, in order. */
  public record Header(String name, String value) {}

  private static Optional<String> find(List<Header> headers, String name) {
    return headers.stream().filter(h -> h.name().trim().equalsIgnoreCase(name)).map(Header::value).findFirst();
  }

  /** A request: send the body bytes exactly as they are. */
  public record Request(String method, String url, List<Header> headers, byte[] body) {
    public Request {
      headers = List.copyOf(headers);
      body = body == null ? new byte[0] : body.clone();
    }

    /** The first header with this name (case-insensitive). */
    public Optional<String> header(String name) {
      return find(headers, name);
    }

    @Override
    public byte[] body() {
      return body.clone();
    }
  }

  /** A response. */
  public record Response(int status, List<Header> headers, byte[] body) {
    public Response {
      headers = List.copyOf(headers);
      body = body == null ? new byte[0] : body.clone();
    }

    /** The first header with this name (case-insensitive). */
    public Optional<String> header(String name) {
      return find(headers, name);
    }

    @Override
    public byte[] body() {
      return body.clone();
    }
  }
}
