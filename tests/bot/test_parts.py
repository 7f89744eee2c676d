"""The bot's small parts: catalog completeness, config, the API client, drafts, the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.api import ApiRejected, BackendDown, BackendRateLimited, Photo, WildflagApi
from bot.config import BotConfig, ConfigError
from bot.draft import Draft, find_links, parse_country, report_fields
from bot.i18n import CATALOG, EN, LANGUAGE_NAMES, language_of, t
from extension_backend.settings import Settings
from tests.bot.conftest import Backend, free_port
from tests.helpers import jpeg, photo, run_wildflag

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def test_every_key_exists_in_every_language_with_the_same_placeholders() -> None:
    assert {"en", "fr", "es"} <= set(CATALOG)
    assert set(LANGUAGE_NAMES) == set(CATALOG)
    for lang, messages in CATALOG.items():
        assert set(messages) == set(EN), f"{lang}: {set(EN) ^ set(messages)}"
        for key, text in messages.items():
            assert text.strip(), f"{lang}.{key} is empty"
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(EN[key])), (
                f"{lang}.{key}"
            )


def test_values_are_escaped_and_languages_fall_back() -> None:
    assert t("en", "added_link", url="<b>x</b>") == "Link noted: &lt;b&gt;x&lt;/b&gt;"
    assert language_of("es-MX") == "es"
    assert language_of("de") == "en"
    assert language_of(None) == "en"


def test_config_requires_a_token_and_reads_the_documented_variables(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="WILDFLAG_TELEGRAM_TOKEN"):
        BotConfig.from_env({})
    config = BotConfig.from_env(
        {
            "WILDFLAG_TELEGRAM_TOKEN": "1:abc",
            "WILDFLAG_TELEGRAM_API_URL": "http://127.0.0.1:9000",
            "WILDFLAG_API_URL": "http://backend:8080/",
            "WILDFLAG_DATA_DIR": str(tmp_path),
            "WILDFLAG_BOT_API_TOKEN": "secret",
            "WILDFLAG_BOT_REPORTS_PER_HOUR": "5",
        }
    )
    assert config.telegram_base_url == "http://127.0.0.1:9000/bot"
    assert config.telegram_base_file_url == "http://127.0.0.1:9000/file/bot"
    assert config.api_url == "http://backend:8080"
    # PTB's own form of the base URL (ending in /bot) means the same server.
    ptb_style = BotConfig(token="1:abc", telegram_api_url="https://tg.example/bot")
    assert ptb_style.telegram_base_url == "https://tg.example/bot"
    assert ptb_style.telegram_base_file_url == "https://tg.example/file/bot"
    assert config.state_dir == tmp_path / "bot"
    assert config.backend_token == "secret" and config.reports_per_hour == 5
    with pytest.raises(ConfigError, match="WILDFLAG_BOT_REPORTS_PER_HOUR"):
        BotConfig.from_env(
            {"WILDFLAG_TELEGRAM_TOKEN": "1:abc", "WILDFLAG_BOT_REPORTS_PER_HOUR": "x"}
        )


def test_wildflag_bot_without_a_token_says_what_to_set(tmp_path: Path) -> None:
    result = run_wildflag("bot", data_dir=tmp_path)
    assert result.returncode == 2
    assert "WILDFLAG_TELEGRAM_TOKEN" in result.stderr and "BotFather" in result.stderr


def test_drafts_become_anonymous_report_fields() -> None:
    draft = Draft()
    draft.add_text("see www.example.org/item/9.")
    draft.add_text("https://second.example/x")
    assert draft.url == "https://www.example.org/item/9"
    assert draft.texts == ["see www.example.org/item/9.", "https://second.example/x"]
    draft.country = parse_country("côte d'ivoire") or parse_country("CI")
    assert report_fields(draft) == {
        "channel": "bot",
        "url": "https://www.example.org/item/9",
        "text": "see www.example.org/item/9.\n\nhttps://second.example/x",
        "seller_location": "CI",
    }
    assert parse_country("fr") == "FR" and parse_country("Viet Nam") == "VN"
    assert parse_country("Atlantis") is None and parse_country("XX") is None
    assert find_links("t.me/market/5 and http://a.b/c)") == [
        "https://t.me/market/5",
        "http://a.b/c",
    ]


async def test_api_client_against_the_real_backend(backend: Backend) -> None:
    api = WildflagApi(backend.url)
    try:
        receipt = await api.submit_report(
            {"text": "Live African grey parrot", "channel": "bot"},
            [Photo("p.jpg", "image/jpeg", jpeg(photo(4)))],
        )
        assert receipt["reference"].startswith("WF-") and receipt["receipt_token"]
        assert "duplicate" not in receipt and "case_id" not in receipt
        status = await api.report_status(receipt["reference"], receipt["receipt_token"])
        assert status["status"] == "routed"
        with pytest.raises(ApiRejected) as refused:
            await api.submit_report({"channel": "bot"})
        assert refused.value.status == 422
        assert "at least one of url, text or images" in refused.value.message
        with pytest.raises(ApiRejected) as wrong:
            await api.report_status(receipt["reference"], "not-the-token")
        assert wrong.value.status == 404
    finally:
        await api.close()


async def test_api_client_tells_a_backend_that_is_down() -> None:
    api = WildflagApi(f"http://127.0.0.1:{free_port()}", timeout=5)
    try:
        with pytest.raises(BackendDown, match="cannot reach the backend"):
            await api.submit_report({"text": "x"})
    finally:
        await api.close()


async def test_api_client_treats_the_backend_rate_limit_as_retryable(tmp_path: Path) -> None:
    """All the bot's reports come from one address: a 429 must queue, not refuse."""
    settings = Settings(
        data_dir=tmp_path / "limited", anonymous_reports_per_minute=1, delivery_worker=False
    )
    backend = Backend(settings, free_port())
    await backend.start()
    api = WildflagApi(backend.url)
    try:
        await api.submit_report({"text": "Rosewood logs", "channel": "bot"})
        with pytest.raises(BackendRateLimited) as limited:
            await api.submit_report({"text": "Rosewood logs again", "channel": "bot"})
        assert limited.value.retry_after is not None and limited.value.retry_after > 0
    finally:
        await api.close()
        await backend.stop()
