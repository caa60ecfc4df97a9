using System.Security.Cryptography;
using System.Text;
using Gateway.Policy;
using Gateway.Telemetry;

namespace Gateway.Tests.Telemetry;

public sealed class SubjectHasherTests
{
    public static TheoryData<string> Subjects => new()
    {
        "alice@example.com",
        "user:42",
        "x",
        "Zoë Ørsted 😀",
        new string('x', 5000),
        "0123456789abcdef0123456789abcdef",
    };

    [Theory]
    [MemberData(nameof(Subjects))]
    public void ForTelemetry_DefaultSettings_NeverReturnsOrContainsTheSubject(string subject)
    {
        foreach (var hasher in new[] { new SubjectHasher(), new SubjectHasher(key: "k"u8) })
        {
            var id = hasher.ForTelemetry(subject);

            Assert.NotEqual(subject, id);
            Assert.DoesNotContain(subject, id, StringComparison.OrdinalIgnoreCase);
            Assert.Equal(SubjectHasher.Length, id.Length);
            Assert.All(id, c => Assert.True(char.IsAsciiHexDigitLower(c) || char.IsAsciiDigit(c)));
        }
    }

    [Fact]
    public void ForTelemetry_RawSubjectOn_ReturnsTheSubject()
    {
        var hasher = SubjectHasher.Create(new TelemetrySettings { RawSubject = true }, _ => null);

        Assert.Equal("alice@example.com", hasher.ForTelemetry("alice@example.com"));
        Assert.NotEqual("alice@example.com", hasher.Pseudonymize("alice@example.com"));
    }

    [Fact]
    public void ForTelemetry_RepeatedOrEqualSubjects_AlwaysGiveThePseudonym()
    {
        // Remembered per string instance: a repeat, an equal copy and another subject each get the right value.
        var hasher = new SubjectHasher(key: "k"u8);
        var subject = "alice@example.com";
        var copy = new string(subject.AsSpan());

        var first = hasher.ForTelemetry(subject);

        Assert.Equal(hasher.Pseudonymize(subject), first);
        Assert.Same(first, hasher.ForTelemetry(subject));
        Assert.Equal(first, hasher.ForTelemetry(copy));
        Assert.NotEqual(first, hasher.ForTelemetry("bob@example.com"));
        Assert.NotEqual(first, new SubjectHasher(key: "other"u8).ForTelemetry(subject));
    }

    [Fact]
    public void Pseudonymize_SameSubject_IsStableAndDiffersFromOtherSubjects()
    {
        var hasher = new SubjectHasher();

        Assert.Equal(hasher.Pseudonymize("alice"), hasher.Pseudonymize("alice"));
        Assert.NotEqual(hasher.Pseudonymize("alice"), hasher.Pseudonymize("bob"));
    }

    [Fact]
    public void Pseudonymize_WithKey_IsTruncatedHmacSha256AndDependsOnTheKey()
    {
        var keyed = SubjectHasher.Create(new TelemetrySettings(), name => name == SubjectHasher.KeyEnvironmentVariable ? "secret-key" : null);
        var otherKey = new SubjectHasher(key: "other-key"u8);
        var unkeyed = new SubjectHasher();

        var expected = Convert.ToHexStringLower(HMACSHA256.HashData("secret-key"u8, Encoding.UTF8.GetBytes("alice")))[..32];
        Assert.True(keyed.IsKeyed);
        Assert.Equal(expected, keyed.Pseudonymize("alice"));
        Assert.NotEqual(keyed.Pseudonymize("alice"), otherKey.Pseudonymize("alice"));
        Assert.NotEqual(keyed.Pseudonymize("alice"), unkeyed.Pseudonymize("alice"));
    }

    [Fact]
    public void Pseudonymize_WithoutKey_IsNotAPlainSha256OfTheSubject()
    {
        var plain = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("alice")))[..32];

        Assert.NotEqual(plain, new SubjectHasher().Pseudonymize("alice"));
        Assert.False(new SubjectHasher().IsKeyed);
    }
}
