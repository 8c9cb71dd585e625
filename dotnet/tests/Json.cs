namespace Selo.Tests
{
    using System;
    using System.Collections.Generic;
    using System.Globalization;
    using System.IO;
    using System.Linq;
    using System.Text;

    /// <summary>An ordered JSON object (the tests re-serialise some vector members).</summary>
    public sealed class JObj
    {
        public readonly List<KeyValuePair<string, object>> Members = new List<KeyValuePair<string, object>>();

        public object this[string name] => Members.Where(m => m.Key == name).Select(m => m.Value).FirstOrDefault();

        public bool Has(string name) => Members.Any(m => m.Key == name);

        public string S(string name) => (string)this[name];

        public long L(string name) => long.Parse(((JNum)this[name]).Text, CultureInfo.InvariantCulture);

        public JObj O(string name) => (JObj)this[name];

        public List<object> A(string name) => (List<object>)this[name];

        public bool IsNull(string name) => this[name] == null;
    }

    /// <summary>A JSON number, kept as its text.</summary>
    public sealed class JNum
    {
        public JNum(string text)
        {
            Text = text;
        }

        public string Text { get; }

        public override string ToString() => Text;
    }

    /// <summary>A small JSON reader/writer for the shared vectors (test code only).</summary>
    public static class Json
    {
        public static string VectorsRoot =>
            Environment.GetEnvironmentVariable("SELO_VECTORS") ?? Path.Combine("..", "tests", "vectors");

        public static string Text(string rel) => File.ReadAllText(Path.Combine(VectorsRoot, rel), Encoding.UTF8);

        public static JObj Load(string rel) => (JObj)Parse(Text(rel));

        public static byte[] U(string s) => Encoding.UTF8.GetBytes(s);

        public static byte[] B64(string s)
        {
            var t = s.Replace('-', '+').Replace('_', '/');
            while (t.Length % 4 != 0)
            {
                t += "=";
            }

            return Convert.FromBase64String(t);
        }

        public static object Parse(string text)
        {
            int i = 0;
            var v = Value(text, ref i);
            Ws(text, ref i);
            if (i != text.Length)
            {
                throw new FormatException("trailing JSON at " + i);
            }

            return v;
        }

        private static void Ws(string t, ref int i)
        {
            while (i < t.Length && char.IsWhiteSpace(t[i]))
            {
                i++;
            }
        }

        private static object Value(string t, ref int i)
        {
            Ws(t, ref i);
            char c = t[i];
            if (c == '{')
            {
                var o = new JObj();
                i++;
                Ws(t, ref i);
                if (t[i] == '}')
                {
                    i++;
                    return o;
                }

                while (true)
                {
                    Ws(t, ref i);
                    var k = Str(t, ref i);
                    Ws(t, ref i);
                    i++; // ':'
                    o.Members.Add(new KeyValuePair<string, object>(k, Value(t, ref i)));
                    Ws(t, ref i);
                    if (t[i++] == '}')
                    {
                        return o;
                    }
                }
            }

            if (c == '[')
            {
                var a = new List<object>();
                i++;
                Ws(t, ref i);
                if (t[i] == ']')
                {
                    i++;
                    return a;
                }

                while (true)
                {
                    a.Add(Value(t, ref i));
                    Ws(t, ref i);
                    if (t[i++] == ']')
                    {
                        return a;
                    }
                }
            }

            if (c == '"')
            {
                return Str(t, ref i);
            }

            if (t.Substring(i).StartsWith("true", StringComparison.Ordinal))
            {
                i += 4;
                return true;
            }

            if (t.Substring(i).StartsWith("false", StringComparison.Ordinal))
            {
                i += 5;
                return false;
            }

            if (t.Substring(i).StartsWith("null", StringComparison.Ordinal))
            {
                i += 4;
                return null;
            }

            int s = i;
            while (i < t.Length && "+-0123456789.eE".IndexOf(t[i]) >= 0)
            {
                i++;
            }

            return new JNum(t.Substring(s, i - s));
        }

        private static string Str(string t, ref int i)
        {
            var b = new StringBuilder();
            i++; // opening quote
            while (t[i] != '"')
            {
                char c = t[i++];
                if (c != '\\')
                {
                    b.Append(c);
                    continue;
                }

                char e = t[i++];
                switch (e)
                {
                    case 'n': b.Append('\n'); break;
                    case 't': b.Append('\t'); break;
                    case 'r': b.Append('\r'); break;
                    case 'b': b.Append('\b'); break;
                    case 'f': b.Append('\f'); break;
                    case 'u':
                        b.Append((char)int.Parse(t.Substring(i, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                        i += 4;
                        break;
                    default: b.Append(e); break;
                }
            }

            i++;
            return b.ToString();
        }

        /// <summary>Compact JSON, members in their order, non-ASCII as UTF-8.</summary>
        public static string Write(object v)
        {
            var b = new StringBuilder();
            Write(b, v);
            return b.ToString();
        }

        private static void Write(StringBuilder b, object v)
        {
            if (v == null)
            {
                b.Append("null");
            }
            else if (v is bool)
            {
                b.Append((bool)v ? "true" : "false");
            }
            else if (v is JNum)
            {
                b.Append(((JNum)v).Text);
            }
            else if (v is string)
            {
                b.Append('"');
                foreach (char c in (string)v)
                {
                    if (c == '"' || c == '\\')
                    {
                        b.Append('\\').Append(c);
                    }
                    else if (c < 0x20)
                    {
                        b.AppendFormat(CultureInfo.InvariantCulture, "\\u{0:x4}", (int)c);
                    }
                    else
                    {
                        b.Append(c);
                    }
                }

                b.Append('"');
            }
            else if (v is JObj)
            {
                b.Append('{');
                bool first = true;
                foreach (var m in ((JObj)v).Members)
                {
                    if (!first)
                    {
                        b.Append(',');
                    }

                    first = false;
                    Write(b, m.Key);
                    b.Append(':');
                    Write(b, m.Value);
                }

                b.Append('}');
            }
            else
            {
                b.Append('[');
                bool first = true;
                foreach (var x in (List<object>)v)
                {
                    if (!first)
                    {
                        b.Append(',');
                    }

                    first = false;
                    Write(b, x);
                }

                b.Append(']');
            }
        }
    }
}
