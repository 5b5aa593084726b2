<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ru">
<context>
    <name>SessionsPage</name>
    <message>
        <source>Remote sessions</source>
        <translation>Удалённые сеансы</translation>
    </message>
    <message>
        <source>A support engineer can run diagnostics on this computer only after you allow it; this page shows who can connect now and everything that happened in remote sessions.</source>
        <translation>Специалист поддержки может проводить диагностику этого компьютера только с вашего разрешения; здесь видно, кто может подключиться сейчас и что происходило во время удалённых сеансов.</translation>
    </message>
    <message>
        <source>Now</source>
        <translation>Сейчас</translation>
    </message>
    <message>
        <source>History</source>
        <translation>История</translation>
    </message>
    <message>
        <source>&amp;Filter:</source>
        <translation>&amp;Фильтр:</translation>
    </message>
    <message>
        <source>Engineer, ticket, check or result</source>
        <translation>Специалист, заявка, проверка или результат</translation>
    </message>
    <message>
        <source>Filter the history</source>
        <translation>Фильтр истории</translation>
    </message>
    <message>
        <source>History of remote sessions, newest first</source>
        <translation>История удалённых сеансов, сначала новые</translation>
    </message>
    <message>
        <source>Details of the selected event</source>
        <translation>Подробности выбранного события</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>Время</translation>
    </message>
    <message>
        <source>Engineer</source>
        <translation>Специалист</translation>
    </message>
    <message>
        <source>Ticket</source>
        <translation>Заявка</translation>
    </message>
    <message>
        <source>What happened</source>
        <translation>Что произошло</translation>
    </message>
    <message>
        <source>Command or check</source>
        <translation>Команда или проверка</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>Результат</translation>
    </message>
    <message>
        <source>the remote session service is not running.</source>
        <translation>служба удалённых сеансов не запущена.</translation>
    </message>
    <message>
        <source>Remote sessions are not available: %1</source>
        <translation>Удалённые сеансы недоступны: %1</translation>
    </message>
    <message>
        <source>No one can connect now. An engineer who wants to run diagnostics has to ask you first.</source>
        <translation>Сейчас никто не может подключиться. Чтобы провести диагностику, специалист сначала должен спросить вас.</translation>
    </message>
    <message>
        <source>%1 can run diagnostics on this computer until %2 (ticket %3), as your IT department&apos;s policy allows without asking.</source>
        <translation>%1 может проводить диагностику этого компьютера до %2 (заявка %3): правила вашего ИТ-отдела разрешают это без запроса.</translation>
    </message>
    <message>
        <source>%1 can run diagnostics on this computer until %2, as your IT department&apos;s policy allows without asking.</source>
        <translation>%1 может проводить диагностику этого компьютера до %2: правила вашего ИТ-отдела разрешают это без запроса.</translation>
    </message>
    <message>
        <source>%1 can run diagnostics on this computer until %2 (ticket %3).</source>
        <translation>%1 может проводить диагностику этого компьютера до %2 (заявка %3).</translation>
    </message>
    <message>
        <source>%1 can run diagnostics on this computer until %2.</source>
        <translation>%1 может проводить диагностику этого компьютера до %2.</translation>
    </message>
    <message>
        <source>Ending…</source>
        <translation>Завершение…</translation>
    </message>
    <message>
        <source>End now</source>
        <translation>Завершить сейчас</translation>
    </message>
    <message>
        <source>End the session of %1 now</source>
        <translation>Завершить сеанс специалиста %1 сейчас</translation>
    </message>
    <message>
        <source>Show details</source>
        <translation>Подробнее</translation>
    </message>
    <message>
        <source>Show the technical details</source>
        <translation>Показать технические подробности</translation>
    </message>
    <message>
        <source>Technical details</source>
        <translation>Технические подробности</translation>
    </message>
    <message>
        <source>Hide details</source>
        <translation>Скрыть подробности</translation>
    </message>
    <message>
        <source>The history could not be read: %1</source>
        <translation>Не удалось прочитать историю: %1</translation>
    </message>
    <message>
        <source>an unexpected error</source>
        <translation>непредвиденная ошибка</translation>
    </message>
    <message>
        <source>Nothing here yet: no engineer has asked to connect to this computer.</source>
        <translation>Здесь пока пусто: ни один специалист ещё не просил подключиться к этому компьютеру.</translation>
    </message>
    <message>
        <source>Nothing in the history matches “%1”.</source>
        <translation>В истории нет ничего, что подходит под «%1».</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>Готово</translation>
    </message>
    <message>
        <source>Done in %1 ms</source>
        <translation>Готово за %1 мс</translation>
    </message>
    <message>
        <source>Done in %1 s</source>
        <translation>Готово за %1 с</translation>
    </message>
    <message>
        <source>Not understood by the agent</source>
        <translation>Агент не понял команду</translation>
    </message>
    <message>
        <source>Refused: no permission</source>
        <translation>Отказано: нет разрешения</translation>
    </message>
    <message>
        <source>Refused by IT policy</source>
        <translation>Запрещено правилами ИТ-отдела</translation>
    </message>
    <message>
        <source>Took too long and was stopped</source>
        <translation>Выполнялось слишком долго и было остановлено</translation>
    </message>
    <message>
        <source>Failed (code %1)</source>
        <translation>Ошибка (код %1)</translation>
    </message>
    <message>
        <source>The time was up</source>
        <translation>Время истекло</translation>
    </message>
    <message>
        <source>Ended because Deskline closed</source>
        <translation>Завершён, потому что Deskline закрылся</translation>
    </message>
    <message>
        <source>Ended by you</source>
        <translation>Завершён вами</translation>
    </message>
    <message>
        <source>The engineer disconnected</source>
        <translation>Специалист отключился</translation>
    </message>
    <message>
        <source>The Deskline agent stopped</source>
        <translation>Агент Deskline остановлен</translation>
    </message>
    <message>
        <source>The engineer was idle too long</source>
        <translation>Специалист слишком долго бездействовал</translation>
    </message>
    <message>
        <source>The connection was closed</source>
        <translation>Соединение закрыто</translation>
    </message>
    <message>
        <source>Asked for permission</source>
        <translation>Запрос разрешения</translation>
    </message>
    <message>
        <source>For %1</source>
        <translation>Срок: %1</translation>
    </message>
    <message>
        <source>You allowed it</source>
        <translation>Вы разрешили</translation>
    </message>
    <message>
        <source>You denied it</source>
        <translation>Вы отклонили</translation>
    </message>
    <message>
        <source>Refused</source>
        <translation>Отказано</translation>
    </message>
    <message>
        <source>The question could not be shown</source>
        <translation>Не удалось показать запрос</translation>
    </message>
    <message>
        <source>Not answered in time</source>
        <translation>Нет ответа вовремя</translation>
    </message>
    <message>
        <source>The engineer stopped waiting</source>
        <translation>Специалист перестал ждать</translation>
    </message>
    <message>
        <source>Session started</source>
        <translation>Сеанс начат</translation>
    </message>
    <message>
        <source>Until %1</source>
        <translation>До %1</translation>
    </message>
    <message>
        <source>Ran a command</source>
        <translation>Выполнена команда</translation>
    </message>
    <message>
        <source>Session ended</source>
        <translation>Сеанс завершён</translation>
    </message>
    <message numerus="yes">
        <source>%n command(s) ran</source>
        <translation>
            <numerusform>Выполнено команд: %n</numerusform>
            <numerusform>Выполнено команд: %n</numerusform>
            <numerusform>Выполнено команд: %n</numerusform>
        </translation>
    </message>
    <message>
        <source>You pressed End now</source>
        <translation>Вы нажали «Завершить сейчас»</translation>
    </message>
    <message>
        <source>Deskline closed, so the session was ended</source>
        <translation>Deskline закрылся, и сеанс был завершён</translation>
    </message>
    <message>
        <source>The session was ended early</source>
        <translation>Сеанс завершён досрочно</translation>
    </message>
    <message>
        <source>Connected without asking, as IT&apos;s policy allows</source>
        <translation>Подключение без запроса по правилам ИТ-отдела</translation>
    </message>
    <message>
        <source>The session did not start</source>
        <translation>Сеанс не начался</translation>
    </message>
    <message>
        <source>The engineer&apos;s side did not confirm it</source>
        <translation>Сторона специалиста его не подтвердила</translation>
    </message>
    <message>
        <source>Refused a connection</source>
        <translation>Подключение отклонено</translation>
    </message>
    <message>
        <source>The request was not valid or not allowed</source>
        <translation>Запрос был неверным или недопустимым</translation>
    </message>
</context>
</TS>
