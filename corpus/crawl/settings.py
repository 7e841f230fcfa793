"""Scrapy settings for a polite, bounded, safe crawl; :func:`crawl_settings` is what the CLI uses.

Politeness: robots.txt obeyed, ``delay`` seconds at least between two requests to one host
(no random jitter, which would cut it by up to half), raised for a host by its robots.txt
``Crawl-delay`` (politeness.py), AutoThrottle on (it starts at ``delay`` and lengthens the gap
for a slow server, never below the host's floor), at most ``concurrency`` requests in flight per
host.
Bounds: ``max_bytes`` per response (scrapy cancels the download), ``timeout`` per request,
``retries`` with exponential backoff. Redirects are followed by the spider (see spider.py) and,
for robots.txt, by robots.py, so scrapy's RedirectMiddleware is off; so are its offsite and depth
middlewares (the spider logs those decisions itself). Connections go only to checked addresses
(addresses.py, installed by the guard in middlewares.py).
"""

from __future__ import annotations

from jinglian import __version__

USER_AGENT = f"jinglian/{__version__} (+https://github.com/jinglian/jinglian; corpus crawler)"


def crawl_settings(
    *,
    delay: float = 1.0,
    concurrency: int = 2,
    max_bytes: int = 10 * 1024 * 1024,
    timeout: float = 30.0,
    retries: int = 2,
    backoff: float = 1.0,
    obey_robots: bool = True,
    allow_private: bool = False,
    autothrottle: bool = True,
    user_agent: str = USER_AGENT,
    log_level: str = "ERROR",
) -> dict:
    return {
        "BOT_NAME": "jinglian",
        "USER_AGENT": user_agent,
        "ROBOTSTXT_OBEY": obey_robots,
        "ROBOTSTXT_USER_AGENT": "jinglian",
        "DOWNLOAD_DELAY": delay,
        "DOWNLOAD_DELAY_JITTER": 0.0,  # delay is a floor: scrapy's ±50% jitter would undercut it
        "AUTOTHROTTLE_ENABLED": autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(delay, 0.1),
        "AUTOTHROTTLE_MAX_DELAY": max(30.0, delay),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(concurrency),
        "CONCURRENT_REQUESTS": max(16, concurrency),
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "DOWNLOAD_MAXSIZE": max_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "DOWNLOAD_TIMEOUT": timeout,
        "RETRY_ENABLED": retries > 0,
        "RETRY_TIMES": retries,
        "JINGLIAN_RETRY_BACKOFF": backoff,
        "JINGLIAN_ALLOW_PRIVATE": allow_private,
        "HTTPERROR_ALLOW_ALL": True,  # 4xx/5xx reach the spider, which logs them
        "REDIRECT_ENABLED": False,
        "METAREFRESH_ENABLED": False,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "EXTENSIONS": {
            "scrapy.extensions.throttle.AutoThrottle": None,
            "jinglian.corpus.crawl.politeness.PoliteThrottle": 0,  # AutoThrottle above Crawl-delay
        },
        "LOG_LEVEL": log_level,
        "DOWNLOADER_MIDDLEWARES": {
            "jinglian.corpus.crawl.middlewares.PrivateAddressGuard": 50,  # before robots.txt is fetched
            "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "jinglian.corpus.crawl.robots.RobotsTxtWithRedirects": 100,  # follows robots.txt redirects
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "jinglian.corpus.crawl.middlewares.BackoffRetryMiddleware": 550,
        },
        "SPIDER_MIDDLEWARES": {
            "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
        },
        # Breadth-first: a capped crawl covers the site's top levels before its depths.
        "DEPTH_PRIORITY": 1,
        "SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
    }
