<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ru">
<context>
    <name>App</name>
    <message>
        <source>Your settings file has a problem, so Deskline started with its default settings. Nothing was changed in the file.</source>
        <translation>В файле настроек ошибка, поэтому Deskline запущен с настройками по умолчанию. Сам файл не изменён.</translation>
    </message>
</context>
</TS>
