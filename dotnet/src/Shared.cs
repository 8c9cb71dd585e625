namespace Selo
{
    using System;
    using System.Collections.Concurrent;
    using System.Collections.Generic;
    using System.Globalization;
    using System.Linq;
    using System.Threading;
    using System.Threading.Tasks;

    /// <summary>
    /// One Lua script call of the shared-state protocol (docs/shared-state.md §4), built by the core: run it
    /// with <c>EVALSHA Sha1 Keys Args</c> (on NOSCRIPT, <c>EVAL Script Keys Args</c>) and hand the integer
    /// reply back. Every key of one call lives in one Redis Cluster slot.
    /// </summary>
    public sealed class ScriptCall
    {
        internal ScriptCall(string name, string script, string sha1, IReadOnlyList<string> keys, IReadOnlyList<string> args)
        {
            Name = name;
            Script = script;
            Sha1 = sha1;
            Keys = keys;
            Args = args;
        }

        /// <summary>LEASE_ACQUIRE, RELEASE_IF_OWNER, PUBLISH_IF_GENERATION, …</summary>
        public string Name { get; }

        public string Script { get; }

        public string Sha1 { get; }

        public IReadOnlyList<string> Keys { get; }

        public IReadOnlyList<string> Args { get; }

        /// <summary>The name only: the arguments hold the sealed record and the owner token.</summary>
        public override string ToString() => "ScriptCall[" + Name + "]";

        internal static ScriptCall Take(IntPtr c)
        {
            try
            {
                var keys = new List<string>();
                for (ulong i = 0, n = Native.selo_script_call_key_count(c).ToUInt64(); i < n; i++)
                {
                    keys.Add(Utf8.Read(Native.selo_script_call_key_at(c, new UIntPtr(i))));
                }

                var args = new List<string>();
                for (ulong i = 0, n = Native.selo_script_call_arg_count(c).ToUInt64(); i < n; i++)
                {
                    args.Add(Utf8.Read(Native.selo_script_call_arg_at(c, new UIntPtr(i))));
                }

                return new ScriptCall(Utf8.Read(Native.selo_script_call_name(c)), Utf8.Read(Native.selo_script_call_script(c)),
                    Utf8.Read(Native.selo_script_call_sha1(c)), keys.AsReadOnly(), args.AsReadOnly());
            }
            finally
            {
                Native.selo_script_call_free(c);
            }
        }
    }

    /// <summary>
    /// Where a fleet's shared Safra session lives (SPEC §5, docs/shared-state.md): a fleet name, the 32-byte
    /// seal key every instance shares, and the store's two commands. Hand it to
    /// <see cref="SafraClient.Shared"/>: every SafraClient sharing it (in this process or, with a Redis-backed
    /// implementation, in others) uses one set of bank credentials; a handshake or renewal runs once, under the
    /// fleet's lease, and is published sealed. Any exception from the store is <c>shared.store_unavailable</c>
    /// (fail closed).
    /// </summary>
    public interface ISafraShare
    {
        /// <summary>The fleet's name (docs/shared-state.md §2 rules).</summary>
        string Name { get; }

        /// <summary>The 32-byte seal key.</summary>
        byte[] SealKey { get; }

        /// <summary>The lease TTL in ms (default 30 000).</summary>
        long LeaseTtlMs { get; }

        /// <summary><c>GET key</c>: the value, or null.</summary>
        Task<string> GetAsync(string key, CancellationToken cancellationToken);

        /// <summary>Runs the script call (<c>EVALSHA</c>, <c>EVAL</c> on NOSCRIPT); its integer reply.</summary>
        Task<long> EvalAsync(ScriptCall call, CancellationToken cancellationToken);
    }

    /// <summary>The counters a host reads to operate a fleet (per client: <see cref="SafraClient.ShareStats"/>).</summary>
    public sealed class SafraShareStats
    {
        internal SafraShareStats(ulong[] v)
        {
            Handshakes = v[0];
            Renewals = v[1];
            Adopted = v[2];
            LeaseWaits = v[3];
            LeaseSteals = v[4];
            StoreErrors = v[5];
        }

        public ulong Handshakes { get; }

        public ulong Renewals { get; }

        public ulong Adopted { get; }

        public ulong LeaseWaits { get; }

        public ulong LeaseSteals { get; }

        public ulong StoreErrors { get; }

        public override string ToString() =>
            "{\"handshakes\":" + Handshakes + ",\"renewals\":" + Renewals + ",\"adopted\":" + Adopted + ",\"lease_waits\":" + LeaseWaits +
            ",\"lease_steals\":" + LeaseSteals + ",\"store_errors\":" + StoreErrors + "}";
    }

    /// <summary>
    /// An in-memory <see cref="ISafraShare"/>: a dictionary standing in for Redis that answers the protocol's
    /// three scripts exactly as their Lua does (docs/shared-state.md §4). Several SafraClient instances of one
    /// process share one session through it. (No Redis client for .NET is reachable from this project's
    /// machines: a Redis-backed ISafraShare runs the same calls with EVALSHA.)
    /// </summary>
    public sealed class MemorySafraShare : ISafraShare
    {
        private readonly Dictionary<string, KeyValuePair<string, DateTime?>> map = new Dictionary<string, KeyValuePair<string, DateTime?>>();

        public MemorySafraShare(string name, byte[] sealKey, long leaseTtlMs = 30000)
        {
            if (sealKey == null || sealKey.Length != 32)
            {
                throw new SeloException("safra.shared.seal_key", "the seal key must be 32 bytes", 0);
            }

            Name = name;
            SealKey = (byte[])sealKey.Clone();
            LeaseTtlMs = leaseTtlMs;
        }

        public string Name { get; }

        public byte[] SealKey { get; }

        public long LeaseTtlMs { get; }

        /// <summary>While false every call throws (tests: the store is down).</summary>
        public bool Up { get; set; } = true;

        /// <summary>Every live value (tests: nothing secret at rest).</summary>
        public IReadOnlyDictionary<string, string> Snapshot()
        {
            lock (map)
            {
                return map.Keys.ToList().Select(k => new KeyValuePair<string, string>(k, Live(k))).Where(p => p.Value != null)
                    .ToDictionary(p => p.Key, p => p.Value);
            }
        }

        private string Live(string k)
        {
            KeyValuePair<string, DateTime?> v;
            if (!map.TryGetValue(k, out v))
            {
                return null;
            }

            if (v.Value.HasValue && v.Value.Value <= DateTime.UtcNow)
            {
                map.Remove(k);
                return null;
            }

            return v.Key;
        }

        public Task<string> GetAsync(string key, CancellationToken cancellationToken)
        {
            lock (map)
            {
                if (!Up)
                {
                    throw new InvalidOperationException("the in-memory store is down");
                }

                return Task.FromResult(Live(key));
            }
        }

        public Task<long> EvalAsync(ScriptCall c, CancellationToken cancellationToken)
        {
            lock (map)
            {
                if (!Up)
                {
                    throw new InvalidOperationException("the in-memory store is down");
                }

                return Task.FromResult(Eval(c));
            }
        }

        private long Eval(ScriptCall c)
        {
            var now = DateTime.UtcNow;
            switch (c.Name)
            {
                case "LEASE_ACQUIRE":
                {
                    var holder = Live(c.Keys[0]);
                    if (holder == null || holder == c.Args[0])
                    {
                        var ttl = long.Parse(c.Args[1], CultureInfo.InvariantCulture);
                        map[c.Keys[0]] = new KeyValuePair<string, DateTime?>(c.Args[0], now.AddMilliseconds(ttl));
                        var f = Live(c.Keys[1]);
                        var fence = (f == null ? 0 : long.Parse(f, CultureInfo.InvariantCulture)) + 1;
                        map[c.Keys[1]] = new KeyValuePair<string, DateTime?>(fence.ToString(CultureInfo.InvariantCulture), null);
                        return fence;
                    }

                    var left = (long)Math.Ceiling((map[c.Keys[0]].Value.Value - now).TotalMilliseconds);
                    return -Math.Max(left, 1);
                }

                case "RELEASE_IF_OWNER":
                    if (Live(c.Keys[0]) == c.Args[0])
                    {
                        map.Remove(c.Keys[0]);
                        return 1;
                    }

                    return 0;
                case "PUBLISH_IF_GENERATION":
                {
                    if (Live(c.Keys[1]) != c.Args[0])
                    {
                        return -1;
                    }

                    if (Live(c.Keys[2]) != c.Args[1])
                    {
                        return -2;
                    }

                    var record = Live(c.Keys[0]);
                    var current = "0";
                    if (record != null)
                    {
                        var parts = record.Split('.');
                        if (parts.Length < 3 || parts[0] != "selo1")
                        {
                            return -4;
                        }

                        current = parts[1];
                    }

                    if (current != c.Args[2])
                    {
                        return -3;
                    }

                    map[c.Keys[0]] = new KeyValuePair<string, DateTime?>(c.Args[3], null);
                    return 1;
                }

                default:
                    throw new InvalidOperationException("script " + c.Name + " is not one this store answers");
            }
        }
    }

    /// <summary>
    /// One client's side of a shared session: the core's SafraShare (C ABI <c>selo_safra_share_*</c>) over an
    /// <see cref="ISafraShare"/>. The steps follow docs/shared-state.md §6 and core/tests/safra_fleet.rs.
    /// </summary>
    internal sealed class SafraShareCore : Handle
    {
        internal readonly SafraShareHandle Safe;
        private readonly ISafraShare store;

        internal SafraShareCore(ISafraShare store) : base(Create(store))
        {
            Safe = (SafraShareHandle)SafeBase;
            this.store = store;
            RecordKey = Call(() =>
            {
                IntPtr o;
                Ffi.Check(Native.selo_safra_share_record_key(Safe, out o));
                return Ffi.TakeString(o);
            }, this);
        }

        private static SafraShareHandle Create(ISafraShare store)
        {
            SafraShareHandle h;
            Ffi.Check(Native.selo_safra_share_new(Utf8.Z(store.Name), store.SealKey, Ffi.Len(store.SealKey), out h));
            if (store.LeaseTtlMs > 0)
            {
                Ffi.Check(Native.selo_safra_share_set_lease_ttl_ms(h, (ulong)store.LeaseTtlMs));
            }

            return h;
        }

        internal string RecordKey { get; }

        internal long LeaseTtlMs
        {
            get { lock (this) return (long)Call(() => Native.selo_safra_share_lease_ttl_ms(Safe), this); }
        }

        internal bool HoldsLease
        {
            get { lock (this) return Call(() => Native.selo_safra_share_holds_lease(Safe), this); }
        }

        internal SafraShareStats Stats()
        {
            lock (this)
            {
                return Call(() => new SafraShareStats(Enumerable.Range(0, 6).Select(i => Native.selo_safra_share_stat(Safe, (uint)i)).ToArray()), this);
            }
        }

        private SeloException StoreFailure(string what, Exception e)
        {
            lock (this) Call(() => Ffi.Check(Native.selo_safra_share_store_error(Safe)), this);
            // The type only: a driver's message may quote the command (key, record).
            return new SeloException("shared.store_unavailable", what + " failed (" + e.GetType().Name + "): the operation fails closed", 0);
        }

        private async Task<string> Get(CancellationToken ct)
        {
            try
            {
                return await store.GetAsync(RecordKey, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                throw StoreFailure("GET of the shared record", e);
            }
        }

        private async Task<long> Eval(ScriptCall call, CancellationToken ct)
        {
            try
            {
                return await store.EvalAsync(call, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                throw StoreFailure(call.Name, e);
            }
        }

        /// <summary>GETs the record and hands it to the core; true when it adopted a newer one.</summary>
        internal async Task<bool> ReadRecord(SafraSession session, CancellationToken ct)
        {
            var text = await Get(ct).ConfigureAwait(false);
            var bytes = text == null ? null : System.Text.Encoding.UTF8.GetBytes(text);
            uint outcome = 0;
            lock (this)
            {
                lock (session)
                {
                    Call(() => Ffi.Check(Native.selo_safra_share_on_record(Safe, session.Safe, bytes, Ffi.Len(bytes), out outcome)), this, session);
                }
            }

            return outcome == 2;
        }

        /// <summary>Takes the lease (acquire, re-read, grant or adopt+release); while busy, polls the record.</summary>
        internal async Task TakeLease(SafraSession session, CancellationToken ct)
        {
            var ttl = LeaseTtlMs;
            var started = DateTime.UtcNow;
            while (true)
            {
                ScriptCall call;
                lock (this)
                {
                    call = Call(() =>
                    {
                        IntPtr c;
                        Ffi.Check(Native.selo_safra_share_acquire(Safe, out c));
                        return ScriptCall.Take(c);
                    }, this);
                }

                var reply = await Eval(call, ct).ConfigureAwait(false);
                bool held = false;
                ulong retry = 0;
                lock (this) Call(() => Ffi.Check(Native.selo_safra_share_on_acquire(Safe, reply, out held, out retry)), this);
                if (held)
                {
                    bool adopted;
                    try
                    {
                        adopted = await ReadRecord(session, ct).ConfigureAwait(false);
                    }
                    catch
                    {
                        await ReleaseQuietly(session).ConfigureAwait(false);
                        throw;
                    }

                    if (adopted)
                    {
                        await Release(session, ct).ConfigureAwait(false);
                    }
                    else
                    {
                        lock (this)
                        {
                            lock (session) Call(() => Ffi.Check(Native.selo_safra_share_grant(Safe, session.Safe)), this, session);
                        }
                    }

                    return;
                }

                var busyUntil = DateTime.UtcNow.AddMilliseconds(Math.Max(retry, 1UL));
                while (DateTime.UtcNow < busyUntil)
                {
                    await Task.Delay(100, ct).ConfigureAwait(false);
                    if (await ReadRecord(session, ct).ConfigureAwait(false))
                    {
                        return;
                    }

                    if ((DateTime.UtcNow - started).TotalMilliseconds > 2 * ttl)
                    {
                        throw new SeloException("shared.lease_timeout", "waited " + (2 * ttl) + " ms (twice the lease TTL) for another instance's handshake or renewal and saw no newer record", 0);
                    }
                }
            }
        }

        /// <summary>After a transition's response: publish when ready, then release.</summary>
        internal async Task PublishIfReady(SafraSession session, CancellationToken ct)
        {
            ScriptCall call;
            lock (this)
            {
                lock (session)
                {
                    call = Call(() =>
                    {
                        if (!Native.selo_safra_share_ready_to_publish(Safe, session.Safe))
                        {
                            return null;
                        }

                        IntPtr c;
                        Ffi.Check(Native.selo_safra_share_publish(Safe, session.Safe, out c));
                        return ScriptCall.Take(c);
                    }, this, session);
                }
            }

            if (call == null)
            {
                return;
            }

            long reply;
            try
            {
                reply = await Eval(call, ct).ConfigureAwait(false);
            }
            catch
            {
                await ReleaseQuietly(session).ConfigureAwait(false);
                throw;
            }

            uint result = 0;
            lock (this)
            {
                lock (session) Call(() => Ffi.Check(Native.selo_safra_share_on_publish(Safe, session.Safe, reply, out result)), this, session);
            }

            await Release(session, ct).ConfigureAwait(false);
            if (result != 0)
            {
                await ReadRecord(session, ct).ConfigureAwait(false);
            }
        }

        internal async Task Release(SafraSession session, CancellationToken ct)
        {
            IntPtr c = IntPtr.Zero;
            lock (this)
            {
                lock (session) Call(() => Ffi.Check(Native.selo_safra_share_release(Safe, session.Safe, out c)), this, session);
            }

            if (c == IntPtr.Zero)
            {
                return;
            }

            var call = ScriptCall.Take(c);
            var reply = await Eval(call, ct).ConfigureAwait(false);
            bool released;
            lock (this) Call(() => Ffi.Check(Native.selo_safra_share_on_release(Safe, reply, out released)), this);
        }

        internal async Task ReleaseQuietly(SafraSession session)
        {
            try
            {
                await Release(session, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // the first failure is the one reported
            }
        }
    }

    /// <summary>
    /// An OFB replay store (docs/shared-state.md §8): records <paramref name="key"/> for
    /// <paramref name="ttlSeconds"/> atomically and answers "fresh" or "replayed"; a failure throws
    /// (the verifier answers 503). Pass <c>store.CheckAndInsertAsync</c> as the <see cref="OfbReplayStore"/>.
    /// </summary>
    public interface IJtiStore
    {
        Task<string> CheckAndInsertAsync(string key, long ttlSeconds, CancellationToken cancellationToken);
    }

    /// <summary>An in-memory <see cref="IJtiStore"/> (one process; entries expire with their TTL).</summary>
    public sealed class MemoryJtiStore : IJtiStore
    {
        private readonly ConcurrentDictionary<string, DateTime> seen = new ConcurrentDictionary<string, DateTime>();

        public Task<string> CheckAndInsertAsync(string key, long ttlSeconds, CancellationToken cancellationToken)
        {
            var now = DateTime.UtcNow;
            var until = now.AddSeconds(ttlSeconds);
            while (true)
            {
                DateTime old;
                if (seen.TryGetValue(key, out old))
                {
                    if (old > now)
                    {
                        return Task.FromResult("replayed");
                    }

                    if (seen.TryUpdate(key, until, old))
                    {
                        return Task.FromResult("fresh");
                    }

                    continue;
                }

                if (seen.TryAdd(key, until))
                {
                    return Task.FromResult("fresh");
                }
            }
        }
    }

    /// <summary>
    /// BMP transactions sent and not yet settled (docs/shared-state.md §9), keyed by the core's
    /// <c>bmp_pending_key</c>. <see cref="Lookup"/> is the lookup the confirmation helper takes.
    /// </summary>
    public interface IBmpPending
    {
        /// <summary>Records the exact body before sending; false when another body is pending under the key (do not send).</summary>
        bool Record(string idempotencyKey, byte[] body);

        /// <summary>The body recorded for the key, or null.</summary>
        byte[] Lookup(string idempotencyKey);

        /// <summary>Forgets a settled transaction.</summary>
        void Settle(string idempotencyKey);
    }

    /// <summary>An in-memory <see cref="IBmpPending"/> (7 days, as the Redis key's TTL).</summary>
    public sealed class MemoryBmpPending : IBmpPending
    {
        /// <summary>How long a pending transaction is kept (BMP_PENDING_TTL_SECONDS).</summary>
        public const long TtlSeconds = 604800;

        private readonly ConcurrentDictionary<string, KeyValuePair<byte[], DateTime>> map = new ConcurrentDictionary<string, KeyValuePair<byte[], DateTime>>();

        /// <summary>The store key of an idempotency key (the core's bmp_pending_key).</summary>
        public static string StoreKey(string idempotencyKey)
        {
            IntPtr o;
            Ffi.Check(Native.selo_shared_bmp_pending_key(Utf8.Z(idempotencyKey), out o));
            return Ffi.TakeString(o);
        }

        public bool Record(string idempotencyKey, byte[] body)
        {
            var k = StoreKey(idempotencyKey);
            var entry = new KeyValuePair<byte[], DateTime>((byte[])body.Clone(), DateTime.UtcNow.AddSeconds(TtlSeconds));
            var there = map.GetOrAdd(k, entry);
            return ReferenceEquals(there.Key, entry.Key) || (there.Value > DateTime.UtcNow && there.Key.SequenceEqual(body));
        }

        public byte[] Lookup(string idempotencyKey)
        {
            KeyValuePair<byte[], DateTime> v;
            return map.TryGetValue(StoreKey(idempotencyKey), out v) && v.Value > DateTime.UtcNow ? (byte[])v.Key.Clone() : null;
        }

        public void Settle(string idempotencyKey)
        {
            KeyValuePair<byte[], DateTime> v;
            map.TryRemove(StoreKey(idempotencyKey), out v);
        }
    }
}
