"""The web chat: the same screening in a phone's browser (WeChat's built-in one included).

For people who cannot reach Telegram. Server-rendered HTML that works as plain
form posts with JavaScript off; `static/chat.js` only makes it smoother. The app
is built by `bot.channels.web.app.create_app` (not imported here, so the other
commands start without loading Starlette).
"""
