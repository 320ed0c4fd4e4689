using System.Globalization;
using System.Reflection;
using System.Text;
using Akka.Configuration;

namespace ActorScheduler.Configuration;

/// <summary>Writing HOCON text. INTERNAL API.</summary>
internal static class Hocon
{
    /// <summary>
    /// <paramref name="value"/> as a quoted HOCON string, escaped as JSON escapes it, so that any task name, role or
    /// connection string reads back unchanged, as a value or as one key.
    /// </summary>
    public static string Quote(string value)
    {
        var sb = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case < ' ': sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: sb.Append(c); break;
            }
        }

        return sb.Append('"').ToString();
    }

    /// <summary>A reference configuration embedded in <paramref name="assembly"/> as <paramref name="resource"/>.</summary>
    public static Config Embedded(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"{resource} is not embedded in {assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }
}
