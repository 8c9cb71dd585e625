namespace Selo.Tests
{
    using System;
    using System.Linq;
    using System.Reflection;
    using NUnit.Framework;

    /// <summary>
    /// A plain runner for machines without nunit-console: runs every [Test]
    /// of every [TestFixture] in this assembly and prints
    /// "dotnet (console runner): N passed, N failed, 0 skipped" (it runs every
    /// [Test], [Ignore]d or not: nothing is skipped).
    /// </summary>
    public static class ConsoleRunner
    {
        public static int Main()
        {
            int passed = 0, failed = 0;
            foreach (var t in Assembly.GetExecutingAssembly().GetTypes().Where(t => t.GetCustomAttributes(typeof(TestFixtureAttribute), false).Any()))
            {
                foreach (var m in t.GetMethods().Where(m => m.GetCustomAttributes(typeof(TestAttribute), false).Any()))
                {
                    try
                    {
                        m.Invoke(Activator.CreateInstance(t), null);
                        passed++;
                    }
                    catch (TargetInvocationException e)
                    {
                        failed++;
                        Console.WriteLine("FAIL " + t.Name + "." + m.Name + ": " + e.InnerException.Message);
                    }
                }
            }

            Console.WriteLine("dotnet (console runner): " + passed + " passed, " + failed + " failed, 0 skipped");
            return failed == 0 ? 0 : 1;
        }
    }
}
