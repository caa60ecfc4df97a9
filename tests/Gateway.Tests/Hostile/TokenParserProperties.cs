using System.Text;
using CsCheck;
using Gateway.Testing;
using Gateway.Tests.Tokens;
using Gateway.Tokens;
using Xunit.Abstractions;

namespace Gateway.Tests.Hostile;

/// <summary>
/// Whatever arrives as a token, the validator answers with a <see cref="TokenFailure"/>: never an exception,
/// and never "valid" for anything but a token the issuer signed.
/// </summary>
public sealed class TokenParserProperties(ITestOutputHelper output)
{
    private const string Base64UrlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    private static readonly Gen<string> RandomText = Gen.OneOf(
        Gen.String,
        Gen.Char[Base64UrlAlphabet + "..."].Array[0, 400].Select(c => new string(c)),
        Gen.Char[Base64UrlAlphabet + ".=+/ \t\r\n%\0\u00e9\u202e"].Array[0, 400].Select(c => new string(c)),
        Gen.Byte.Array[0, 300].Select(b => Encoding.Latin1.GetString(b)),
        Gen.Int[0, 6].Select(Gen.Char[Base64UrlAlphabet].Array[0, 120].Select(c => new string(c)), (parts, part) => string.Join('.', Enumerable.Repeat(part, parts))));

    [Fact]
    public async Task ValidateAsync_RandomText_IsRefusedWithoutThrowing()
    {
        var gateway = new TestGateway(new TestIssuer());

        await Fuzz.RunAsync(output, "token-random-text", RandomText, 2_000, async token =>
        {
            var result = await gateway.ValidateAsync(token);
            Assert.False(result.IsValid);
            Assert.False(string.IsNullOrEmpty(result.Failure.Reason));
        });
    }

    [Fact]
    public async Task ValidateAsync_MutatedValidToken_IsNeverValid()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);
        var original = issuer.Mint(gateway.Now);
        Assert.True((await gateway.ValidateAsync(original)).IsValid);
        var mutations = Gen.Select(Gen.Int[0, 7], Gen.Int[0, original.Length - 1], Gen.Char[Base64UrlAlphabet + ".=+/ %"], Gen.Int[1, 40]);

        await Fuzz.RunAsync(output, "token-mutated", mutations, 3_000, async m =>
        {
            var mutated = Mutate(original, m.Item1, m.Item2, m.Item3, m.Item4);
            if (mutated == original)
            {
                return;
            }

            var result = await gateway.ValidateAsync(mutated);
            Assert.False(result.IsValid, "a mutated token was accepted: " + mutated);
        }, m => $"mutation {m.Item1} at {m.Item2} with '{m.Item3}' x{m.Item4}");
    }

    [Fact]
    public async Task ValidateAsync_HostileSignedClaims_AreRefusedWithoutThrowing()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);
        var header = issuer.Header().ToJsonString();
        var claims = issuer.Claims(gateway.Now);
        claims.Remove("act");
        claims.Remove("exp");
        var rest = claims.ToJsonString()[1..^1];
        var exp = gateway.Now.AddMinutes(10).ToUnixTimeSeconds();
        var hostile = Gen.OneOf(
            // act nested deeper than the parser's 32 (up to far beyond the JSON depth limit).
            Gen.Int[33, 10_000].Select(depth => $"{{{rest},\"exp\":{exp},\"act\":{Nest(depth, "{\"sub\":\"agent:x\",\"act\":", "}", "{\"sub\":\"agent:y\"}")}}}"),
            // Arrays nested beyond the JSON depth limit in a claim nobody reads.
            Gen.Int[65, 10_000].Select(depth => $"{{{rest},\"exp\":{exp},\"act\":{{\"sub\":\"a\"}},\"x\":{Nest(depth, "[", "]", "1")}}}"),
            // Numbers no date or count can hold.
            Gen.OneOf("1e400", "-1e400", "123456789012345678901234567890", "1.7976931348623157e309", "-0", "253402300800", "0.0000000001e-400", "99999999999999999999999999999999999999999999999999e99999")
                .Select(Gen.OneOf("exp", "iat", "nbf", "auth_time"), (n, claim) => claim == "exp"
                    ? $"{{{rest},\"act\":{{\"sub\":\"a\"}},\"exp\":{n}}}"
                    : $"{{{rest},\"act\":{{\"sub\":\"a\"}},\"exp\":{exp},\"{claim}\":{n},\"cap\":{{\"max_steps\":{n}}}}}"),
            // A member twice, at the top or inside, with the same or another value.
            Gen.OneOf("aud", "iss", "sub", "exp", "jti", "cnf").Select(Gen.Bool, (name, nested) => nested
                ? $"{{{rest},\"exp\":{exp},\"act\":{{\"sub\":\"a\",\"sub\":\"b\"}}}}"
                : $"{{{rest},\"exp\":{exp},\"act\":{{\"sub\":\"a\"}},\"{name}\":\"dup\"}}"),
            // Escaped lone surrogates and other strings that are valid JSON but not valid text.
            Gen.OneOf("\\ud800", "\\udfff", "a\\ud800b", "\\u0000", "\\ud83d").Select(Gen.OneOf("sub", "jti", "iss", "aud", "client_id", "acr"), (text, claim) =>
                $"{{{rest},\"exp\":{exp},\"act\":{{\"sub\":\"{text}\"}},\"{claim}\":\"{text}\"}}"),
            // Huge strings where identifiers go.
            Gen.Int[1_025, 60_000].Select(n => $"{{{rest},\"exp\":{exp},\"act\":{{\"sub\":\"{new string('a', n)}\"}}}}"));

        await Fuzz.RunAsync(output, "token-hostile-claims", hostile, 300, async payload =>
        {
            var token = TestIssuer.Sign(header, payload, issuer.Key);
            var result = await gateway.ValidateAsync(token);
            Assert.False(result.IsValid, "accepted: " + payload[..Math.Min(200, payload.Length)]);
        }, payload => payload[..Math.Min(300, payload.Length)]);
    }

    private static string Nest(int depth, string open, string close, string inner)
    {
        var builder = new StringBuilder((open.Length + close.Length) * depth + inner.Length);
        for (var i = 0; i < depth; i++)
        {
            builder.Append(open);
        }

        builder.Append(inner);
        for (var i = 0; i < depth; i++)
        {
            builder.Append(close);
        }

        return builder.ToString();
    }

    /// <summary>Bit flips, segment swaps and duplicates, truncation, insertion and base64 corruption.</summary>
    internal static string Mutate(string token, int kind, int position, char c, int count)
    {
        var parts = token.Split('.');
        return kind switch
        {
            0 => token[..position] + c + token[(position + 1)..],
            1 => token[..position] + c + token[position..],
            2 => token.Remove(position, Math.Min(count, token.Length - position)),
            3 => parts.Length == 3 ? string.Join('.', parts[1], parts[0], parts[2]) : token,
            4 => parts.Length == 3 ? string.Join('.', parts[0], parts[1], parts[1]) : token,
            5 => token[..position] + new string(c, count) + token[position..],
            6 => FlipBit(token, position, count % 6),
            _ => parts.Length == 3 ? string.Join('.', parts[0], parts[1] + "==", parts[2]) : token,
        };
    }

    // Flips one bit of the six a base64url character carries.
    private static string FlipBit(string token, int position, int bit)
    {
        var index = Base64UrlAlphabet.IndexOf(token[position], StringComparison.Ordinal);
        if (index < 0)
        {
            return token;
        }

        return token[..position] + Base64UrlAlphabet[index ^ (1 << bit)] + token[(position + 1)..];
    }
}

/// <summary>Regression tests for what the properties above found.</summary>
public sealed class TokenParserFindings
{
    [Fact]
    public async Task ValidateAsync_InvalidUtf8InAClaim_IsRefusedAsMalformed()
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);
        var claims = Encoding.UTF8.GetBytes(issuer.Claims(gateway.Now).ToJsonString().Replace("user:alice", "user:al\u00ffce", StringComparison.Ordinal));
        var broken = Array.IndexOf(claims, (byte)0xC3);
        claims[broken] = 0xF7;
        var token = JwsWriter.Sign(Encoding.UTF8.GetBytes(issuer.Header().ToJsonString()), claims, issuer.Key.SecurityKey, issuer.Algorithm);

        await gateway.AssertRefusedAsync(token, TokenFailureReasons.Malformed);
    }

    [Theory]
    [InlineData("\\ud800")]
    [InlineData("a\\udfffb")]
    public async Task ValidateAsync_LoneSurrogateEscape_IsRefusedAsMalformed(string escaped)
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);
        var claims = issuer.Claims(gateway.Now).ToJsonString().Replace("user:alice", escaped, StringComparison.Ordinal);

        await gateway.AssertRefusedAsync(TestIssuer.Sign(issuer.Header().ToJsonString(), claims, issuer.Key), TokenFailureReasons.Malformed);
    }

    [Theory]
    [InlineData("sub", "user:\nforged log line")]
    [InlineData("jti", "a\u0000b")]
    [InlineData("client_id", "x\u007f")]
    public async Task ValidateAsync_ControlCharacterInAnIdentifier_IsRefused(string claim, string value)
    {
        var issuer = new TestIssuer();
        var gateway = new TestGateway(issuer);

        await gateway.AssertRefusedAsync(issuer.Mint(gateway.Now, claims: c => c[claim] = value), TokenFailureReasons.InvalidClaim);
    }
}
