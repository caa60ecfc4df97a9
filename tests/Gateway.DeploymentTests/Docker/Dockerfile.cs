using System.Text.Json;

namespace Gateway.DeploymentTests.Docker;

/// <summary>One instruction of a Dockerfile: its keyword (upper case), its flags and its arguments.</summary>
/// <param name="Keyword">FROM, COPY, RUN, ... in upper case.</param>
/// <param name="Flags">Leading <c>--name=value</c> flags, such as <c>--from=build</c>.</param>
/// <param name="Arguments">The rest, split as Docker splits it: JSON form as written, shell form on whitespace.</param>
/// <param name="Text">Everything after the keyword, continuation lines joined.</param>
/// <param name="IsJsonForm">True when written as a JSON array (exec form).</param>
/// <param name="Line">1-based line of the keyword.</param>
internal sealed record DockerInstruction(
    string Keyword,
    IReadOnlyDictionary<string, string> Flags,
    IReadOnlyList<string> Arguments,
    string Text,
    bool IsJsonForm,
    int Line)
{
    public override string ToString() => $"line {Line}: {Keyword} {Text}";
}

/// <summary>One build stage: a FROM and the instructions up to the next FROM.</summary>
internal sealed record DockerStage(string BaseImage, string? Name, IReadOnlyList<DockerInstruction> Instructions)
{
    public IEnumerable<DockerInstruction> All(string keyword) =>
        Instructions.Where(i => string.Equals(i.Keyword, keyword, StringComparison.Ordinal));

    public DockerInstruction? Last(string keyword) => All(keyword).LastOrDefault();
}

/// <summary>
/// A small reader of the Dockerfile syntax the repository uses: comments, parser directives,
/// backslash continuations, exec (JSON) and shell forms, flags, and stages. Enough to check the
/// file statically where no Docker engine runs; it does not evaluate ARG substitutions.
/// </summary>
internal sealed class Dockerfile
{
    private Dockerfile(IReadOnlyList<DockerInstruction> instructions, IReadOnlyList<DockerStage> stages)
    {
        Instructions = instructions;
        Stages = stages;
    }

    public IReadOnlyList<DockerInstruction> Instructions { get; }

    public IReadOnlyList<DockerStage> Stages { get; }

    public DockerStage FinalStage => Stages[^1];

    public static Dockerfile Load(string path) => Parse(File.ReadAllText(path));

    public static Dockerfile Parse(string text)
    {
        var instructions = new List<DockerInstruction>();
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var trimmed = lines[i].Trim();
            if (trimmed.Length == 0 || trimmed.StartsWith('#'))
            {
                continue;
            }

            var start = i + 1;
            var logical = new System.Text.StringBuilder();
            var current = lines[i].TrimEnd();
            while (current.EndsWith('\\') && i + 1 < lines.Length)
            {
                logical.Append(current.AsSpan(0, current.Length - 1)).Append(' ');
                i++;
                current = lines[i].TrimEnd();

                // Comment lines inside a continuation are dropped, as Docker does.
                while (current.TrimStart().StartsWith('#') && i + 1 < lines.Length)
                {
                    i++;
                    current = lines[i].TrimEnd();
                }
            }

            logical.Append(current);
            instructions.Add(ParseInstruction(logical.ToString().Trim(), start));
        }

        return new Dockerfile(instructions, SplitStages(instructions));
    }

    private static DockerInstruction ParseInstruction(string logical, int line)
    {
        var space = logical.IndexOfAny([' ', '\t']);
        var keyword = (space < 0 ? logical : logical[..space]).ToUpperInvariant();
        var rest = space < 0 ? "" : logical[(space + 1)..].Trim();

        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        while (rest.StartsWith("--", StringComparison.Ordinal))
        {
            var end = rest.IndexOfAny([' ', '\t']);
            var flag = end < 0 ? rest : rest[..end];
            var equals = flag.IndexOf('=', StringComparison.Ordinal);
            flags[equals < 0 ? flag[2..] : flag[2..equals]] = equals < 0 ? "" : flag[(equals + 1)..];
            rest = end < 0 ? "" : rest[(end + 1)..].Trim();
        }

        if (rest.StartsWith('['))
        {
            try
            {
                var json = JsonSerializer.Deserialize<string[]>(rest);
                if (json is not null)
                {
                    return new DockerInstruction(keyword, flags, json, rest, IsJsonForm: true, line);
                }
            }
            catch (JsonException)
            {
                // Not valid JSON: Docker then treats it as shell form, and so do we.
            }
        }

        var words = rest.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        return new DockerInstruction(keyword, flags, words, rest, IsJsonForm: false, line);
    }

    private static List<DockerStage> SplitStages(List<DockerInstruction> instructions)
    {
        var stages = new List<DockerStage>();
        DockerInstruction? from = null;
        var body = new List<DockerInstruction>();
        foreach (var instruction in instructions)
        {
            if (instruction.Keyword == "FROM")
            {
                if (from is not null)
                {
                    stages.Add(Stage(from, body));
                }

                from = instruction;
                body = [];
            }
            else if (from is not null)
            {
                body.Add(instruction);
            }
        }

        if (from is not null)
        {
            stages.Add(Stage(from, body));
        }

        return stages;
    }

    private static DockerStage Stage(DockerInstruction from, List<DockerInstruction> body)
    {
        // FROM image [AS name]
        var args = from.Arguments;
        var name = args.Count >= 3 && string.Equals(args[1], "AS", StringComparison.OrdinalIgnoreCase) ? args[2] : null;
        return new DockerStage(args[0], name, body);
    }

    /// <summary>
    /// Splits the value of an ENV instruction into variables: <c>A=1 B="two words"</c>, or the
    /// legacy <c>A value</c> form.
    /// </summary>
    public static IReadOnlyDictionary<string, string> EnvVariables(DockerInstruction env)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var text = env.Text;
        if (!text.Contains('=', StringComparison.Ordinal) || text.IndexOf(' ', StringComparison.Ordinal) < text.IndexOf('=', StringComparison.Ordinal))
        {
            var space = text.IndexOf(' ', StringComparison.Ordinal);
            result[space < 0 ? text : text[..space]] = space < 0 ? "" : text[(space + 1)..].Trim();
            return result;
        }

        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            var nameStart = i;
            while (i < text.Length && text[i] != '=')
            {
                i++;
            }

            if (i >= text.Length)
            {
                break;
            }

            var name = text[nameStart..i];
            i++;
            var value = new System.Text.StringBuilder();
            if (i < text.Length && text[i] == '"')
            {
                i++;
                while (i < text.Length && text[i] != '"')
                {
                    value.Append(text[i++]);
                }

                i++;
            }
            else
            {
                while (i < text.Length && !char.IsWhiteSpace(text[i]))
                {
                    value.Append(text[i++]);
                }
            }

            result[name] = value.ToString();
        }

        return result;
    }
}
