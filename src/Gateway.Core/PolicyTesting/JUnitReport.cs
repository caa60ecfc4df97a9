using System.Globalization;
using System.Xml;

namespace Gateway.PolicyTesting;

/// <summary>
/// Policy test results as JUnit XML, the format CI systems (GitHub Actions reporters, GitLab, Jenkins)
/// read: one <c>testsuite</c> per cases file, one <c>testcase</c> per case, a <c>failure</c> for each
/// failing case with the same text the console shows.
/// </summary>
public static class JUnitReport
{
    public static void Write(Stream output, string policyPath, IReadOnlyList<(PolicyCaseFile File, IReadOnlyList<PolicyCaseResult> Results)> suites)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(suites);
        using var xml = XmlWriter.Create(output, new XmlWriterSettings { Indent = true, Async = false });
        xml.WriteStartDocument();
        xml.WriteStartElement("testsuites");
        xml.WriteAttributeString("name", $"gateway test {policyPath}");
        xml.WriteAttributeString("tests", Count(suites.Sum(s => s.Results.Count + s.File.Errors.Count)));
        xml.WriteAttributeString("failures", Count(suites.Sum(s => s.Results.Count(r => !r.Passed))));
        xml.WriteAttributeString("errors", Count(suites.Sum(s => s.File.Errors.Count)));
        foreach (var (file, results) in suites)
        {
            xml.WriteStartElement("testsuite");
            xml.WriteAttributeString("name", file.Path);
            xml.WriteAttributeString("tests", Count(results.Count + file.Errors.Count));
            xml.WriteAttributeString("failures", Count(results.Count(r => !r.Passed)));
            xml.WriteAttributeString("errors", Count(file.Errors.Count));
            xml.WriteAttributeString("time", Seconds(TimeSpan.FromTicks(results.Sum(r => r.Duration.Ticks))));
            foreach (var error in file.Errors)
            {
                // A case that could not be read is an error of the suite, reported where it is.
                xml.WriteStartElement("testcase");
                xml.WriteAttributeString("name", $"{error.Location}");
                xml.WriteAttributeString("classname", file.Path);
                xml.WriteAttributeString("file", error.Location.File);
                xml.WriteAttributeString("line", Count(error.Location.Line));
                xml.WriteStartElement("error");
                xml.WriteAttributeString("message", error.Message);
                xml.WriteString(error.ToString());
                xml.WriteEndElement();
                xml.WriteEndElement();
            }

            foreach (var result in results)
            {
                xml.WriteStartElement("testcase");
                xml.WriteAttributeString("name", result.Case.Name);
                xml.WriteAttributeString("classname", file.Path);
                xml.WriteAttributeString("file", result.Case.Location.File);
                xml.WriteAttributeString("line", Count(result.Case.Location.Line));
                xml.WriteAttributeString("time", Seconds(result.Duration));
                if (!result.Passed)
                {
                    xml.WriteStartElement("failure");
                    xml.WriteAttributeString("message", $"expected {result.Case.Expect}, decided {result.Decided}");
                    xml.WriteAttributeString("type", "decision");
                    xml.WriteString(result.Describe());
                    xml.WriteEndElement();
                }

                xml.WriteEndElement();
            }

            xml.WriteEndElement();
        }

        xml.WriteEndElement();
        xml.WriteEndDocument();
    }

    private static string Count(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Seconds(TimeSpan value) => value.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture);
}
