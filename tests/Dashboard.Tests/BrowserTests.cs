using System.Diagnostics;
using System.Net;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Dashboard.Tests;

/// <summary>
/// A fact that needs headless Chromium and ChromeDriver (/usr/bin/chromium, /usr/bin/chromedriver: Debian's chromium and
/// chromium-driver packages): skipped, with the reason, when they are missing, unless ACTOR_SCHEDULER_REQUIRE_CHROMIUM=1
/// (CI, .ci/setup.d/60-chromium.sh), where it runs and fails.
/// </summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public const string Chromium = "/usr/bin/chromium";
    public const string ChromeDriver = "/usr/bin/chromedriver";

    public BrowserFactAttribute()
    {
        if ((!File.Exists(Chromium) || !File.Exists(ChromeDriver)) && Environment.GetEnvironmentVariable("ACTOR_SCHEDULER_REQUIRE_CHROMIUM") != "1")
            Skip = $"the browser test needs {Chromium} and {ChromeDriver} (apt-get install chromium chromium-driver; .ci/setup.d/60-chromium.sh does it).";
    }
}

/// <summary>
/// The live page in headless Chromium, served by Kestrel: every task shown, a pause with a note reaches its row (the
/// time it took is printed), a trigger adds a run, a task's run history pages back, the runs chart shows the last hour
/// and the last day, and the browser logs no error. With ACTOR_SCHEDULER_SCREENSHOT=PATH
/// it also saves a screenshot there (docs/dashboard.png is made so).
/// </summary>
public sealed class BrowserTests(DashboardHost host, ITestOutputHelper output) : IClassFixture<DashboardHost>
{
    [BrowserFact]
    public async Task The_page_shows_every_task_and_pause_and_trigger_work_from_it()
    {
        var http = host.Client();
        // A failure to show, and a retry.
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("dash/api/tasks/broken/trigger", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("dash/api/tasks/flaky/trigger", null)).StatusCode);

        using var driver = Browser();
        var wait = Wait(driver);

        // The first load with the token sets the cookie and redirects to the page without it.
        Open(driver, wait);
        Assert.EndsWith("/dash/", driver.Url);
        Assert.Equal(DashboardHost.Tasks,
            driver.FindElements(By.CssSelector("tr[data-task]")).Select(r => r.GetAttribute("data-task")));
        wait.Until(d => d.FindElement(By.Id("live")).GetAttribute("data-state") == "live");
        wait.Until(d => Row(d, "broken").FindElement(By.CssSelector("td.last")).Text.Contains("failed"));

        // Pause with a note: the row says so (through the event stream and a refresh; the time it took is printed).
        Row(driver, "idle").FindElement(By.CssSelector("button[data-action='pause']")).Click();
        wait.Until(d => d.FindElement(By.Id("pause-dialog")).Displayed);
        driver.FindElement(By.Id("pause-note")).SendKeys("storage migration");
        var clock = Stopwatch.StartNew();
        driver.FindElement(By.Id("pause-confirm")).Click();
        wait.Until(d => Row(d, "idle").GetAttribute("data-state") == "paused" && Row(d, "idle").Text.Contains("storage migration"));
        output.WriteLine($"the paused row showed its note {clock.ElapsedMilliseconds} ms after the click");
        Assert.True(Row(driver, "idle").FindElement(By.CssSelector("button[data-action='resume']")).Displayed);

        // Trigger: a new run appears in the row's counters and strip.
        var runsBefore = int.Parse(Row(driver, "once").FindElement(By.CssSelector("td.runs")).Text);
        Row(driver, "once").FindElement(By.CssSelector("button[data-action='trigger']")).Click();
        wait.Until(d => int.Parse(Row(d, "once").FindElement(By.CssSelector("td.runs")).Text) == runsBefore + 1
            && Row(d, "once").FindElements(By.CssSelector(".strip .succeeded")).Count == runsBefore + 1);

        // The detail of a task shows its recent runs and errors.
        Row(driver, "flaky").Click();
        wait.Until(d => d.FindElement(By.Id("detail")).Displayed && d.FindElements(By.CssSelector("#detail-runs tr.error")).Count >= 1);
        Assert.Contains("disk full", driver.FindElement(By.Id("detail-runs")).Text);
        driver.FindElement(By.Id("detail-close")).Click();

        // Search narrows the table.
        driver.FindElement(By.Id("search")).SendKeys("sl");
        wait.Until(d => d.FindElements(By.CssSelector("tr[data-task]")).Select(r => r.GetAttribute("data-task")).SequenceEqual(["slow", "sleepy"]));
        driver.FindElement(By.Id("search")).SendKeys(Keys.Backspace + Keys.Backspace);
        wait.Until(d => d.FindElements(By.CssSelector("tr[data-task]")).Count == DashboardHost.Tasks.Length);

        if (Environment.GetEnvironmentVariable("ACTOR_SCHEDULER_SCREENSHOT") is { Length: > 0 } path)
        {
            await Task.Delay(2500); // a couple of refreshes: settled counters and strips
            ((ITakesScreenshot)driver).GetScreenshot().SaveAsFile(path);
        }

        NoErrors(driver);
    }

    [BrowserFact]
    public async Task The_detail_pages_through_the_run_history_and_the_page_charts_the_last_hour_and_day()
    {
        // More failed runs of broken than a page of the detail's history (20) holds.
        var http = host.Client();
        await DashboardHost.TriggerRuns(http, "broken", 25);

        using var driver = Browser();
        var wait = Wait(driver);
        Open(driver, wait);

        // The chart: 60 one-minute bars with the runs of fast and hasty; the toggle shows 96 bars of 15 minutes.
        wait.Until(d => d.FindElements(By.CssSelector("#chart g.bucket")).Count == 60 && ChartRuns(d) > 0);
        Assert.Equal("hour", driver.FindElement(By.Id("chart")).GetAttribute("data-window"));
        Assert.Contains("the last hour", driver.FindElement(By.Id("chart-total")).Text);
        driver.FindElement(By.CssSelector(".toggle button[data-window='day']")).Click();
        wait.Until(d => d.FindElements(By.CssSelector("#chart g.bucket")).Count == 96 && d.FindElement(By.Id("chart")).GetAttribute("data-window") == "day");
        Assert.Equal("true", driver.FindElement(By.CssSelector(".toggle button[data-window='day']")).GetAttribute("aria-pressed"));
        Assert.True(ChartRuns(driver) > 0);
        driver.FindElement(By.CssSelector(".toggle button[data-window='hour']")).Click();
        wait.Until(d => d.FindElements(By.CssSelector("#chart g.bucket")).Count == 60);

        // The detail's history: the newest 20 runs, each failed with its error; Older shows the runs before them.
        Row(driver, "broken").Click();
        wait.Until(d => d.FindElements(By.CssSelector("#detail-history tr.run")).Count == 20);
        Assert.Contains("connection refused: backup.internal:5432", driver.FindElement(By.Id("detail-history")).Text);
        Assert.All(driver.FindElements(By.CssSelector("#detail-history tr.run")), r => Assert.Equal("failed", r.GetAttribute("data-outcome")));
        Assert.False(driver.FindElement(By.Id("history-newer")).Enabled);
        var newest = Starts(driver);
        wait.Until(d => d.FindElement(By.Id("history-older")).Enabled);
        driver.FindElement(By.Id("history-older")).Click();
        // Page 2 shown, its runs no newer than the first page's last (data-started is to the millisecond: runs triggered
        // back to back can share one, while the page's next is exact).
        wait.Until(d => d.FindElement(By.Id("history-info")).Text == "page 2"
            && Starts(d) is { Count: > 0 } older && string.CompareOrdinal(older[0], newest[^1]) <= 0);
        Assert.Contains("connection refused", driver.FindElement(By.Id("detail-history")).Text);
        driver.FindElement(By.Id("history-newer")).Click();
        wait.Until(d => Starts(d).SequenceEqual(newest));
        Assert.False(driver.FindElement(By.Id("history-newer")).Enabled);
        driver.FindElement(By.Id("detail-close")).Click();

        NoErrors(driver);
    }

    /// <summary>Headless Chromium, light, 1600 × 860, with the browser's log kept.</summary>
    private static ChromeDriver Browser()
    {
        var options = new ChromeOptions { BinaryLocation = BrowserFactAttribute.Chromium };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1600,860",
            "--force-prefers-color-scheme=light", "--blink-settings=preferredColorScheme=1");
        options.SetLoggingPreference(LogType.Browser, LogLevel.All);
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(BrowserFactAttribute.ChromeDriver), Path.GetFileName(BrowserFactAttribute.ChromeDriver));
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }

    private static PageWait Wait(IWebDriver driver) => new(driver);

    /// <summary>Opens the page with the token and waits for every task's row.</summary>
    private void Open(IWebDriver driver, PageWait wait)
    {
        driver.Navigate().GoToUrl(new Uri(host.BaseAddress, "dash/?token=" + DashboardHost.Token));
        wait.Until(d => d.FindElements(By.CssSelector("tr[data-task]")).Count == DashboardHost.Tasks.Length);
    }

    private static void NoErrors(IWebDriver driver)
    {
        var errors = driver.Manage().Logs.GetLog(LogType.Browser).Where(e => e.Level >= LogLevel.Severe).Select(e => e.Message).ToList();
        Assert.True(errors.Count == 0, "browser console errors:\n" + string.Join("\n", errors));
    }

    /// <summary>The runs the chart's bars add up to.</summary>
    private static long ChartRuns(IWebDriver driver) => Convert.ToInt64(((IJavaScriptExecutor)driver).ExecuteScript(
        "return [...document.querySelectorAll('#chart g.bucket')].reduce((n, g) => n + Number(g.dataset.runs), 0);"));

    /// <summary>The start times of the runs the detail's history shows, newest first.</summary>
    private static List<string> Starts(IWebDriver driver) =>
        driver.FindElements(By.CssSelector("#detail-history tr.run")).Select(r => r.GetAttribute("data-started") ?? "").ToList();

    private static IWebElement Row(IWebDriver driver, string task) => driver.FindElement(By.CssSelector($"tr[data-task='{task}']"));
}

/// <summary>
/// Waits up to 30 s, polling every 50 ms, for a condition on the page; a timeout fails with what the page showed then:
/// the open detail, its history, the toast, the error banner and the browser's log.
/// </summary>
internal sealed class PageWait(IWebDriver driver)
{
    private const string StateScript = """
        const $ = id => document.getElementById(id);
        return JSON.stringify({
          detail: $('detail').hidden ? null : $('detail').dataset.task,
          runs: [...document.querySelectorAll('#detail-history tr.run')].map(r => r.dataset.started),
          info: $('history-info').textContent, none: $('history-none').hidden ? null : $('history-none').textContent,
          older: !$('history-older').disabled, newer: !$('history-newer').disabled,
          toast: $('toast').hidden ? null : $('toast').textContent, error: $('error').hidden ? null : $('error').textContent });
        """;

    private readonly WebDriverWait _wait = Create(driver);

    public void Until(Func<IWebDriver, bool> condition)
    {
        try
        {
            _wait.Until(condition);
        }
        catch (WebDriverTimeoutException e)
        {
            throw new WebDriverTimeoutException($"{e.Message}; the page then: {State()}", e);
        }
    }

    private static WebDriverWait Create(IWebDriver driver)
    {
        var wait = new WebDriverWait(driver, TimeSpan.FromSeconds(30)) { PollingInterval = TimeSpan.FromMilliseconds(50) };
        wait.IgnoreExceptionTypes(typeof(StaleElementReferenceException)); // rows leave the table on a search, runs on a page change
        return wait;
    }

    private string State()
    {
        try
        {
            var log = driver.Manage().Logs.GetLog(LogType.Browser).Select(e => e.Message);
            return ((IJavaScriptExecutor)driver).ExecuteScript(StateScript) + "; browser log: " + string.Join(" | ", log);
        }
        catch (WebDriverException e)
        {
            return $"(not read: {e.Message})";
        }
    }
}
