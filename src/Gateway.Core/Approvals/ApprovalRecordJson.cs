using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gateway.Approvals;

/// <summary>How a record's fixed part is stored (the Redis store keeps it as one JSON field).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(ApprovalRecord))]
internal sealed partial class ApprovalRecordJson : JsonSerializerContext
{
    public static string Serialize(ApprovalRecord record) => JsonSerializer.Serialize(record, Default.ApprovalRecord);

    public static ApprovalRecord? Deserialize(string json) => JsonSerializer.Deserialize(json, Default.ApprovalRecord);
}
