using System.Reflection;
using System.Text.Json.Serialization;

namespace MetaMae.Training;

/// <summary>
/// The one spelling of a choice (issue 30): an enum's member names come from its [JsonStringEnumMemberName] (the
/// names config.json, plans and the CLI flags use), so a setting is a type in code and one string everywhere else.
/// </summary>
public static class EnumNames<T> where T : struct, Enum
{
    private static readonly (T Value, string Name)[] Members = Enum.GetValues<T>().Select(v =>
        (v, typeof(T).GetField(v.ToString())!.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name
            ?? v.ToString().ToLowerInvariant())).ToArray();

    /// <summary>Every name, in declaration order (help texts, "expected one of").</summary>
    public static string[] All => Members.Select(m => m.Name).ToArray();

    /// <summary>The name of a value.</summary>
    public static string Of(T value) => Members.First(m => m.Value.Equals(value)).Name;

    /// <summary>The value of a name; an ArgumentException naming where and the names expected otherwise.</summary>
    public static T Parse(string name, string where) =>
        Members.FirstOrDefault(m => m.Name == name) is { Name: not null } hit ? hit.Value
            : throw new ArgumentException($"{where} must be one of {string.Join(", ", All)} (got '{name}')");
}
