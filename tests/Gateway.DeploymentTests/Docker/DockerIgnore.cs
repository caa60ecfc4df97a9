using System.Text;
using System.Text.RegularExpressions;

namespace Gateway.DeploymentTests.Docker;

/// <summary>
/// The rules of a .dockerignore file: one pattern a line, <c>*</c> and <c>?</c> within one path
/// segment, <c>**</c> across segments, <c>!</c> to include again, the last matching line wins,
/// and a path is excluded when it or any folder above it is.
/// </summary>
internal sealed class DockerIgnore
{
    private readonly List<(Regex Pattern, bool Include, string Text)> _rules = [];

    public DockerIgnore(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var include = line.StartsWith('!');
            var pattern = (include ? line[1..] : line).Trim().Trim('/');
            _rules.Add((new Regex("^" + ToRegex(pattern) + "$", RegexOptions.CultureInvariant), include, line));
        }
    }

    public IEnumerable<string> Patterns => _rules.Select(r => r.Text);

    public static DockerIgnore Load(string path) => new(File.ReadAllText(path));

    /// <summary>True when the build context leaves <paramref name="relativePath"/> out.</summary>
    public bool IsExcluded(string relativePath)
    {
        var path = relativePath.Replace('\\', '/').Trim('/');
        var segments = path.Split('/');
        for (var length = 1; length <= segments.Length; length++)
        {
            if (Evaluate(string.Join('/', segments[..length])))
            {
                return true;
            }
        }

        return false;
    }

    private bool Evaluate(string path)
    {
        var excluded = false;
        foreach (var (pattern, include, _) in _rules)
        {
            if (pattern.IsMatch(path))
            {
                excluded = !include;
            }
        }

        return excluded;
    }

    private static string ToRegex(string pattern)
    {
        var regex = new StringBuilder();
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                // "**/" matches zero or more folders; a trailing "**" matches everything below.
                if (i + 2 < pattern.Length && pattern[i + 2] == '/')
                {
                    regex.Append("(?:.*/)?");
                    i += 2;
                }
                else
                {
                    regex.Append(".*");
                    i++;
                }
            }
            else if (c == '*')
            {
                regex.Append("[^/]*");
            }
            else if (c == '?')
            {
                regex.Append("[^/]");
            }
            else
            {
                regex.Append(Regex.Escape(c.ToString()));
            }
        }

        return regex.ToString();
    }
}
