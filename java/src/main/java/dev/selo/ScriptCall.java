package dev.selo;

import java.util.List;

/**
 * One Lua script call of the shared-state protocol (docs/shared-state.md
 * §4), built by the core: run it with {@code EVALSHA sha1 keys args} (on
 * {@code NOSCRIPT}, {@code EVAL script keys args}) and hand the integer reply
 * back to the core. Every key of one call lives in one Redis Cluster slot.
 */
public record ScriptCall(String name, String script, String sha1, List<String> keys, List<String> args) {
  static ScriptCall take(com.sun.jna.Pointer c) {
    try {
      SeloNative n = Ffi.N;
      List<String> keys = new java.util.ArrayList<>();
      for (long i = 0, k = n.selo_script_call_key_count(c); i < k; i++) {
        keys.add(n.selo_script_call_key_at(c, i));
      }
      List<String> args = new java.util.ArrayList<>();
      for (long i = 0, k = n.selo_script_call_arg_count(c); i < k; i++) {
        args.add(n.selo_script_call_arg_at(c, i));
      }
      return new ScriptCall(n.selo_script_call_name(c), n.selo_script_call_script(c), n.selo_script_call_sha1(c),
          List.copyOf(keys), List.copyOf(args));
    } finally {
      Ffi.N.selo_script_call_free(c);
    }
  }

  @Override
  public String toString() {
    // The arguments hold the sealed record and the owner token: never logged.
    return "ScriptCall[" + name + "]";
  }
}
