using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Gateway.Policy;

/// <summary>
/// Remembers where the last successfully parsed event ended. YamlDotNet's scanner can fail with an
/// exception that carries no position (an unclosed flow list at the end of a file, for instance);
/// the last good position is then the best place to send the user.
/// </summary>
internal sealed class TrackingParser(IParser inner) : IParser
{
    public Mark LastGoodEnd { get; private set; } = Mark.Empty;

    public ParsingEvent? Current => inner.Current;

    public bool MoveNext()
    {
        if (inner.Current is { } current)
        {
            LastGoodEnd = current.End;
        }

        return inner.MoveNext();
    }
}
