<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ru">
<context>
    <name>CheckPage</name>
    <message>
        <source>Check my computer</source>
        <translation>Проверить компьютер</translation>
    </message>
    <message>
        <source>Deskline looks at the usual causes of trouble (disk space, network, memory, printers, updates and more) and tells you what it finds and what to do. It takes a few seconds, and nothing is sent anywhere.</source>
        <translation>Deskline проверит то, из-за чего чаще всего бывают неполадки (место на диске, сеть, память, принтеры, обновления и другое), и расскажет, что нашёл и что делать. Это займёт несколько секунд, и никуда ничего не отправляется.</translation>
    </message>
    <message>
        <source>S&amp;top</source>
        <translation>&amp;Остановить</translation>
    </message>
    <message>
        <source>Stop the check</source>
        <translation>Остановить проверку</translation>
    </message>
    <message>
        <source>Progress of the check</source>
        <translation>Ход проверки</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>Подробности</translation>
    </message>
    <message>
        <source>Show why these checks did not finish</source>
        <translation>Показать, почему эти проверки не завершились</translation>
    </message>
    <message>
        <source>What the check found</source>
        <translation>Результаты проверки</translation>
    </message>
    <message>
        <source>Checking…</source>
        <translation>Проверяем…</translation>
    </message>
    <message>
        <source>Starting the check…</source>
        <translation>Начинаем проверку…</translation>
    </message>
    <message>
        <source>&amp;Start the check</source>
        <translation>&amp;Начать проверку</translation>
    </message>
    <message>
        <source>&amp;Check again</source>
        <translation>&amp;Проверить ещё раз</translation>
    </message>
    <message>
        <source>The check was stopped.</source>
        <translation>Проверка остановлена.</translation>
    </message>
    <message>
        <source>Checked: %1 (%2 of %3)</source>
        <translation>Проверено: %1 (%2 из %3)</translation>
    </message>
    <message>
        <source>The check could not be run. Try again; if it keeps failing, report the problem and IT support will look at it.</source>
        <translation>Не удалось выполнить проверку. Попробуйте ещё раз; если ошибка повторится, сообщите о проблеме, и служба ИТ-поддержки разберётся.</translation>
    </message>
    <message>
        <source>Deskline found one thing to look at.</source>
        <translation>Deskline нашёл одну проблему, на которую стоит обратить внимание.</translation>
    </message>
    <message numerus="yes">
        <source>Deskline found %n things to look at.</source>
        <translation>
            <numerusform>Deskline нашёл %n проблему, на которую стоит обратить внимание.</numerusform>
            <numerusform>Deskline нашёл %n проблемы, на которые стоит обратить внимание.</numerusform>
            <numerusform>Deskline нашёл %n проблем, на которые стоит обратить внимание.</numerusform>
        </translation>
    </message>
    <message>
        <source>No problems found, only a note for your information.</source>
        <translation>Проблем не найдено, есть только одно замечание для сведения.</translation>
    </message>
    <message numerus="yes">
        <source>No problems found, only %n notes for your information.</source>
        <translation>
            <numerusform>Проблем не найдено, есть только %n замечание для сведения.</numerusform>
            <numerusform>Проблем не найдено, есть только %n замечания для сведения.</numerusform>
            <numerusform>Проблем не найдено, есть только %n замечаний для сведения.</numerusform>
        </translation>
    </message>
    <message>
        <source>Checked: %1.</source>
        <translation>Проверено: %1.</translation>
    </message>
    <message>
        <source>No problems found</source>
        <translation>Проблем не найдено</translation>
    </message>
    <message>
        <source>Everything Deskline checks looks fine: %1. If something still does not work, describe it in Get help or report it.</source>
        <translation>Всё, что проверяет Deskline, в порядке: %1. Если что-то всё равно не работает, опишите это в разделе «Помощь» или сообщите о проблеме.</translation>
    </message>
    <message>
        <source>took too long</source>
        <translation>не уложилась во время</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>завершилась с ошибкой</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <source>Some checks did not finish, so their problems are not shown: %1.</source>
        <translation>Некоторые проверки не завершились, и их результатов здесь нет: %1.</translation>
    </message>
</context>
<context>
    <name>FindingCard</name>
    <message>
        <source>What to do:</source>
        <translation>Что делать:</translation>
    </message>
    <message>
        <source>What to do: %1</source>
        <translation>Что делать: %1</translation>
    </message>
    <message>
        <source>Help:</source>
        <translation>Статьи:</translation>
    </message>
    <message>
        <source>Read the article: %1</source>
        <translation>Открыть статью: %1</translation>
    </message>
    <message>
        <source>Open this article in Get help</source>
        <translation>Открыть статью в разделе «Помощь»</translation>
    </message>
    <message>
        <source>Report this problem</source>
        <translation>Сообщить об этой проблеме</translation>
    </message>
    <message>
        <source>Report this problem: %1</source>
        <translation>Сообщить об этой проблеме: %1</translation>
    </message>
</context>
</TS>
