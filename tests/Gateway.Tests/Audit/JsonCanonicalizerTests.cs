using Gateway.Audit;

namespace Gateway.Tests.Audit;

public sealed class JsonCanonicalizerTests
{
    [Fact]
    public void Canonicalize_Rfc8785StringAndLiteralExample_MatchesPublishedOutput()
    {
        // RFC 8785 section 3.2.2, without its "numbers" member (non-integers are refused, see below).
        const string input = """
            {
              "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
              "literals": [null, true, false]
            }
            """;

        var canonical = JsonCanonicalizer.Canonicalize(input);

        Assert.Equal("{\"literals\":[null,true,false],\"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}", canonical);
    }

    [Fact]
    public void Canonicalize_Rfc8785SortingExample_OrdersByUtf16CodeUnits()
    {
        // RFC 8785 section 3.2.3: the emoji (a surrogate pair, D83D DE00) sorts before U+FB33.
        const string input = """
            {
              "\u20ac": "Euro Sign",
              "\r": "Carriage Return",
              "\ufb33": "Hebrew Letter Dalet With Dagesh",
              "1": "One",
              "\ud83d\ude00": "Emoji: Grinning Face",
              "\u0080": "Control",
              "\u00f6": "Latin Small Letter O With Diaeresis"
            }
            """;

        var canonical = JsonCanonicalizer.Canonicalize(input);

        Assert.Equal(
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"\u00f6\":\"Latin Small Letter O With Diaeresis\","
            + "\"\u20ac\":\"Euro Sign\",\"\U0001F600\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}",
            canonical);
    }

    [Fact]
    public void Canonicalize_Rfc8785SortingExample_WritesUtf8BytesOfTheCharacters()
    {
        var canonical = JsonCanonicalizer.Canonicalize("{\"\\u20ac\":1,\"\\u0080\":2}"u8);

        // U+0080 is C2 80 and U+20AC is E2 82 AC: written as themselves, never escaped.
        Assert.Equal("7B22C280223A322C22E282AC223A317D", Convert.ToHexString(canonical));
    }

    [Theory]
    [InlineData("\"\\u0000\\u0008\\u0009\\u000a\\u000c\\u000d\\u001f\"", "\"\\u0000\\b\\t\\n\\f\\r\\u001f\"")]
    [InlineData("\"\\u007f\\u2028\\u2029<>&+'\"", "\"\u007f\u2028\u2029<>&+'\"")]
    [InlineData("\"\\/\"", "\"/\"")]
    [InlineData("\"\\u00e9\"", "\"é\"")]
    public void Canonicalize_Strings_EscapeOnlyWhatJcsEscapes(string input, string expected)
    {
        Assert.Equal(expected, JsonCanonicalizer.Canonicalize(input));
    }

    [Theory]
    [InlineData("0", "0")]
    [InlineData("-0", "0")]
    [InlineData("1.0", "1")]
    [InlineData("1e2", "100")]
    [InlineData("-42", "-42")]
    [InlineData("9007199254740991", "9007199254740991")]
    [InlineData("-9007199254740991", "-9007199254740991")]
    public void Canonicalize_Integers_WritesPlainDigits(string input, string expected)
    {
        Assert.Equal(expected, JsonCanonicalizer.Canonicalize(input));
    }

    [Theory]
    [InlineData("4.5")]
    [InlineData("1E30")]
    [InlineData("0.002")]
    [InlineData("9007199254740992")]
    [InlineData("{\"numbers\":[333333333.33333329]}")]
    public void Canonicalize_NumberJcsWouldWriteOtherwise_IsRefused(string input)
    {
        Assert.Throws<FormatException>(() => JsonCanonicalizer.Canonicalize(input));
    }

    [Fact]
    public void Canonicalize_NestedStructures_SortsEveryLevelAndKeepsArrayOrder()
    {
        var canonical = JsonCanonicalizer.Canonicalize("""{ "b": [3, {"z": 1, "a": [] }, "x"], "a": { "d": {}, "c": null } }""");

        Assert.Equal("""{"a":{"c":null,"d":{}},"b":[3,{"a":[],"z":1},"x"]}""", canonical);
    }

    [Theory]
    [InlineData("""{"a":1,"a":2}""")]
    [InlineData("""{"x":{"a":1,"a":1}}""")]
    public void Canonicalize_DuplicateMember_IsRefused(string input)
    {
        Assert.Throws<FormatException>(() => JsonCanonicalizer.Canonicalize(input));
    }

    [Theory]
    [InlineData("\"\\ud800\"")]
    [InlineData("{\"a\":")]
    [InlineData("")]
    public void Canonicalize_NotJsonOrNotUnicode_IsRefused(string input)
    {
        Assert.Throws<FormatException>(() => JsonCanonicalizer.Canonicalize(input));
    }
}
