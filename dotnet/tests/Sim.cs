namespace Selo.Tests
{
    using System;
    using System.Diagnostics;
    using System.Globalization;
    using System.Linq;
    using System.Net.Http;
    using System.Text;
    using NUnit.Framework;

    /// <summary>
    /// `selo sim safra` (SELO_SIM, the release CLI) on a free port: its base URL, the pin it prints, the
    /// control endpoint (faults, state). Disposing kills it.
    /// </summary>
    public sealed class SafraSimProcess : IDisposable
    {
        private readonly Process process;
        private readonly HttpClient control = new HttpClient();

        private SafraSimProcess(Process p, string baseUrl, string pin)
        {
            process = p;
            BaseUrl = baseUrl;
            Pin = pin;
        }

        /// <summary>The services' base URL (…/psd/).</summary>
        public string BaseUrl { get; }

        /// <summary>The pin the simulator printed for its bank key ("bank key pin (profile bank_key_pins): …").</summary>
        public string Pin { get; }

        public static string KeyPath(string name) => System.IO.Path.Combine(Json.VectorsRoot, "external", "keys", name);

        /// <summary>Starts the simulator with the bank key tests/vectors/external/keys/<paramref name="bankKey"/>.</summary>
        public static SafraSimProcess Start(string bankKey = "rsa1024-bank.pem", int tokenLifetime = 300)
        {
            var sim = Environment.GetEnvironmentVariable("SELO_SIM");
            Assert.IsFalse(string.IsNullOrEmpty(sim), "SELO_SIM is not set: the path of the selo CLI (scripts/test-ffi sets it)");
            var psi = new ProcessStartInfo(sim, "sim safra --port 0 --token-lifetime " + tokenLifetime + " --bank-key \"" + KeyPath(bankKey) + "\"")
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
            };
            var p = Process.Start(psi);
            try
            {
                var first = p.StandardOutput.ReadLine();
                Assert.IsTrue(first != null && first.StartsWith("listening on http://127.0.0.1:", StringComparison.Ordinal), first);
                var baseUrl = first.Substring("listening on ".Length).Trim();
                if (!baseUrl.EndsWith("/", StringComparison.Ordinal))
                {
                    baseUrl += "/";
                }

                const string PinPrefix = "bank key pin (profile bank_key_pins): ";
                var second = p.StandardOutput.ReadLine();
                Assert.IsTrue(second != null && second.StartsWith(PinPrefix, StringComparison.Ordinal), second);
                return new SafraSimProcess(p, baseUrl, second.Substring(PinPrefix.Length).Trim());
            }
            catch
            {
                Kill(p);
                throw;
            }
        }

        /// <summary>POST …/_control/fault with one fault object or a JSON list of them.</summary>
        public void Inject(string json)
        {
            using (var r = control.PostAsync(BaseUrl + "_control/fault", new StringContent(json, Encoding.UTF8, "application/json")).Result)
            {
                Assert.AreEqual(200, (int)r.StatusCode / 100 * 100, json + " -> " + r.Content.ReadAsStringAsync().Result);
            }
        }

        /// <summary>The protocol part of GET …/_control/state.</summary>
        public JObj State()
        {
            var text = control.GetStringAsync(BaseUrl + "_control/state").Result;
            var state = ((JObj)Json.Parse(text)).O("protocol");
            Assert.IsTrue(state != null && state.Has("duplicates") && state.Has("psd050_counts"), text);
            return state;
        }

        /// <summary>How many psd050 the bank processed for <paramref name="nosso"/> (leading zeros ignored).</summary>
        public static long Psd050Count(JObj state, string nosso)
        {
            var counts = state.O("psd050_counts");
            return counts.Members.Where(m => Strip(m.Key) == Strip(nosso)).Sum(m => long.Parse(((JNum)m.Value).Text, CultureInfo.InvariantCulture));
        }

        public static string Strip(string n)
        {
            var s = n.TrimStart('0');
            return s.Length == 0 ? "0" : s;
        }

        public void Dispose()
        {
            control.Dispose();
            Kill(process);
        }

        private static void Kill(Process p)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill();
                }

                p.WaitForExit();
            }
            finally
            {
                p.Dispose();
            }
        }
    }
}
