// The tests (Selo.Tests.exe from scripts/test-ffi, tests/Selo.Tests.csproj)
// check release counts through the internals below.
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("Selo.Tests")]

namespace Selo
{
    using System;
    using System.Collections.Concurrent;
    using System.Linq;
    using System.Runtime.InteropServices;
    using System.Threading;

    /// <summary>
    /// An owned selo handle (SeloPrivateKey *, SeloSafraSession *, ...) as a
    /// <see cref="SafeHandle"/>. The P/Invoke marshaller adds a reference around
    /// every call that takes one, so a Dispose on another thread (or from a
    /// callback) during a call only drops the owner's reference: the native
    /// free runs when the last call using it returns (SafeHandle.IsClosed turns
    /// true only then; <see cref="Handle"/> keeps its own disposed flag so new
    /// calls are refused at once). The critical finalizer frees a handle that
    /// is never disposed. One sealed subclass per C type, each with a
    /// public parameterless constructor: the marshaller creates them for
    /// <c>out</c> parameters (generic SafeHandles are not marshalled).
    /// </summary>
    internal abstract class NativeHandle : SafeHandle
    {
        private static readonly ConcurrentDictionary<Type, long> ReleasesByType = new ConcurrentDictionary<Type, long>();
        private int frees;

        protected NativeHandle()
            : base(IntPtr.Zero, true)
        {
        }

        public override bool IsInvalid => handle == IntPtr.Zero;

        /// <summary>How many times this handle was freed (0, then 1; never more).</summary>
        internal int Frees => Volatile.Read(ref frees);

        /// <summary>How many handles of type t were freed in this process (by Dispose or the finalizer).</summary>
        internal static long Releases(Type t)
        {
            long n;
            return ReleasesByType.TryGetValue(t, out n) ? n : 0;
        }

        protected abstract void Free(IntPtr p);

        protected sealed override bool ReleaseHandle()
        {
            Free(handle);
            Interlocked.Increment(ref frees);
            ReleasesByType.AddOrUpdate(GetType(), 1, (_, n) => n + 1);
            return true;
        }
    }

    internal sealed class PrivateKeyHandle : NativeHandle
    {
        protected override void Free(IntPtr p) => Native.selo_private_key_free(p);
    }

    internal sealed class PublicKeyHandle : NativeHandle
    {
        protected override void Free(IntPtr p) => Native.selo_public_key_free(p);
    }

    internal sealed class SafraSessionHandle : NativeHandle
    {
        protected override void Free(IntPtr p) => Native.selo_safra_session_free(p);
    }

    internal sealed class SafraBankHandle : NativeHandle
    {
        protected override void Free(IntPtr p) => Native.selo_safra_bank_free(p);
    }

    internal sealed class BmpSignerHandle : NativeHandle
    {
        protected override void Free(IntPtr p) => Native.selo_bmp_signer_free(p);
    }

    internal sealed class JwksHandle : NativeHandle
    {
        protected override void Free(IntPtr p) => Native.selo_jwks_free(p);
    }

    internal sealed class OfbSignerHandle : NativeHandle
    {
        protected override void Free(IntPtr p) => Native.selo_ofb_signer_free(p);
    }

    internal sealed class JtiCacheHandle : NativeHandle
    {
        protected override void Free(IntPtr p) => Native.selo_jti_cache_free(p);
    }

    internal sealed class JwksCacheHandle : NativeHandle
    {
        protected override void Free(IntPtr p) => Native.selo_jwks_cache_free(p);
    }

    internal sealed class SafraShareHandle : NativeHandle
    {
        protected override void Free(IntPtr p) => Native.selo_safra_share_free(p);
    }

    internal sealed class OfbPendingHandle : NativeHandle
    {
        protected override void Free(IntPtr p) => Native.selo_ofb_pending_free(p);
    }

    /// <summary>
    /// An owned native handle: Dispose frees it (keys are zeroized) once no
    /// call is using it; a handle never disposed is freed by its finalizer.
    /// Using a disposed handle throws <see cref="SeloException"/> "ffi.closed",
    /// also when Dispose races with the call.
    /// </summary>
    public abstract class Handle : IDisposable
    {
        private readonly NativeHandle safe;
        private int disposed;

        internal Handle(NativeHandle safe)
        {
            this.safe = safe;
        }

        /// <summary>True once Dispose was called (the free itself may wait for a call in flight).</summary>
        internal bool IsClosed => Volatile.Read(ref disposed) != 0;

        internal NativeHandle SafeBase => safe;

        /// <summary>
        /// Refuses new calls ("ffi.closed") and frees the native object now, or when the
        /// last call using it returns. Idempotent and thread-safe.
        /// </summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                safe.Dispose();
            }
        }

        /// <summary>
        /// Runs call (P/Invokes over the SafeHandles of <paramref name="used"/>): a
        /// handle disposed before the call, or freed while it was starting, is
        /// "ffi.closed" (the marshaller's ObjectDisposedException is not let out).
        /// </summary>
        internal static T Call<T>(Func<T> call, params Handle[] used)
        {
            foreach (var h in used)
            {
                if (h.IsClosed)
                {
                    throw h.Closed();
                }
            }

            try
            {
                return call();
            }
            catch (ObjectDisposedException) when (used.Any(h => h.IsClosed || h.safe.IsClosed))
            {
                // Disposed, and freed, between the check above and the marshaller's AddRef.
                throw used.First(h => h.IsClosed || h.safe.IsClosed).Closed();
            }
        }

        internal static void Call(Action call, params Handle[] used) =>
            Call<object>(() =>
            {
                call();
                return null;
            }, used);

        private SeloException Closed() => new SeloException("ffi.closed", GetType().Name + " is disposed", 4);
    }
}
