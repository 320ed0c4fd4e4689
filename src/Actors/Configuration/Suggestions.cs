namespace ActorScheduler.Configuration;

/// <summary>"Did you mean ...?" by edit distance.</summary>
internal static class Suggestions
{
    /// <summary>The candidate closest to <paramref name="word"/>, or null when none is reasonably close.</summary>
    public static string? Closest(string word, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var distance = Distance(word.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        return best is not null && bestDistance <= Math.Max(2, best.Length / 2) ? best : null;
    }

    /// <summary>Up to <paramref name="max"/> candidates reasonably close to <paramref name="word"/>, closest first.</summary>
    public static IReadOnlyList<string> ClosestFew(string word, IEnumerable<string> candidates, int max)
    {
        var lower = word.ToLowerInvariant();
        return candidates
            .Select(c => (Candidate: c, Distance: Distance(lower, c.ToLowerInvariant())))
            .Where(c => c.Distance <= Math.Max(2, c.Candidate.Length / 3))
            .OrderBy(c => c.Distance).ThenBy(c => c.Candidate, StringComparer.Ordinal)
            .Take(max)
            .Select(c => c.Candidate)
            .ToList();
    }

    /// <summary>Levenshtein distance.</summary>
    public static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
