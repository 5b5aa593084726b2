<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ru">
<context>
    <name>Consent</name>
    <message numerus="yes">
        <source>%n second(s)</source>
        <translation>
            <numerusform>%n секунда</numerusform>
            <numerusform>%n секунды</numerusform>
            <numerusform>%n секунд</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n hour(s)</source>
        <translation>
            <numerusform>%n час</numerusform>
            <numerusform>%n часа</numerusform>
            <numerusform>%n часов</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n minute(s)</source>
        <translation>
            <numerusform>%n минута</numerusform>
            <numerusform>%n минуты</numerusform>
            <numerusform>%n минут</numerusform>
        </translation>
    </message>
    <message>
        <source>basic system information</source>
        <translation>основные сведения о системе</translation>
    </message>
    <message>
        <source>processor</source>
        <translation>процессор</translation>
    </message>
    <message>
        <source>memory</source>
        <translation>память</translation>
    </message>
    <message>
        <source>disks and free space</source>
        <translation>диски и свободное место</translation>
    </message>
    <message>
        <source>network</source>
        <translation>сеть</translation>
    </message>
    <message>
        <source>running programs</source>
        <translation>запущенные программы</translation>
    </message>
    <message>
        <source>system services</source>
        <translation>системные службы</translation>
    </message>
    <message>
        <source>installed software</source>
        <translation>установленные программы</translation>
    </message>
    <message>
        <source>recent errors in system logs</source>
        <translation>недавние ошибки в системных журналах</translation>
    </message>
    <message>
        <source>battery and power</source>
        <translation>батарея и питание</translation>
    </message>
    <message>
        <source>temperatures and fans</source>
        <translation>температура и вентиляторы</translation>
    </message>
    <message>
        <source>user accounts and sign-ins</source>
        <translation>учётные записи и входы в систему</translation>
    </message>
    <message>
        <source>displays</source>
        <translation>мониторы</translation>
    </message>
    <message>
        <source>printers</source>
        <translation>принтеры</translation>
    </message>
    <message>
        <source>environment settings</source>
        <translation>параметры окружения</translation>
    </message>
    <message>
        <source>Check that the Deskline agent is running</source>
        <translation>Проверить, что агент Deskline работает</translation>
    </message>
    <message>
        <source>See which checks are available</source>
        <translation>Посмотреть, какие проверки доступны</translation>
    </message>
    <message>
        <source>Run single checks (processor, memory, disks, network and others)</source>
        <translation>Выполнять отдельные проверки (процессор, память, диски, сеть и другие)</translation>
    </message>
    <message>
        <source>Check: %1</source>
        <translation>Проверка: %1</translation>
    </message>
    <message>
        <source>Collect a full report about this computer (personal details masked, as in reports you send)</source>
        <translation>Собрать полный отчёт об этом компьютере (личные данные скрыты, как в отчётах, которые отправляете вы)</translation>
    </message>
    <message>
        <source>Look for known problems on this computer</source>
        <translation>Поискать известные проблемы на этом компьютере</translation>
    </message>
    <message>
        <source>Read system logs of the last %1</source>
        <translation>Прочитать системные журналы за %1</translation>
    </message>
    <message>
        <source>Read recent system logs</source>
        <translation>Прочитать недавние системные журналы</translation>
    </message>
    <message>
        <source>Run: %1</source>
        <translation>Выполнить: %1</translation>
    </message>
</context>
<context>
    <name>ConsentController</name>
    <message>
        <source>this is not available on Windows yet.</source>
        <translation>в Windows эта возможность пока недоступна.</translation>
    </message>
    <message>
        <source>Deskline is already running for your account, and that copy answers the requests. To answer them here, quit the other copy and start Deskline again.</source>
        <translation>Deskline уже запущен в вашей учётной записи, и запросы получает та копия программы. Чтобы отвечать на них здесь, закройте другую копию и запустите Deskline снова.</translation>
    </message>
    <message>
        <source>the connection that engineers&apos; requests arrive on could not be opened. Restarting Deskline may help; if it does not, tell your IT support.</source>
        <translation>не удалось открыть канал, по которому приходят запросы специалистов. Попробуйте перезапустить Deskline; если это не поможет, сообщите в ИТ-поддержку.</translation>
    </message>
</context>
<context>
    <name>ConsentDialog</name>
    <message>
        <source>Remote diagnostics request</source>
        <translation>Запрос на удалённую диагностику</translation>
    </message>
    <message>
        <source>A support engineer asks to check this computer</source>
        <translation>Специалист поддержки просит разрешения проверить этот компьютер</translation>
    </message>
    <message>
        <source>They want to run diagnostics on this computer over the network. Nothing happens unless you allow it.</source>
        <translation>Он хочет запустить диагностику этого компьютера по сети. Без вашего разрешения ничего не произойдёт.</translation>
    </message>
    <message>
        <source>&amp;Who:</source>
        <translation>&amp;Кто:</translation>
    </message>
    <message>
        <source>Engineer: %1</source>
        <translation>Специалист: %1</translation>
    </message>
    <message>
        <source>Key fingerprint: %1</source>
        <translation>Отпечаток ключа: %1</translation>
    </message>
    <message>
        <source>Key fingerprint</source>
        <translation>Отпечаток ключа</translation>
    </message>
    <message>
        <source>This is the fingerprint of the engineer&apos;s key. If you are not sure the request is genuine, compare it with the one your IT support gives you, or deny. Connecting from %1.</source>
        <translation>Это отпечаток ключа специалиста. Если вы не уверены, что запрос настоящий, сверьте его с тем, который сообщит ваша ИТ-поддержка, или отклоните запрос. Подключение с адреса %1.</translation>
    </message>
    <message>
        <source>For &amp;ticket:</source>
        <translation>По &amp;заявке:</translation>
    </message>
    <message>
        <source>No ticket was named</source>
        <translation>Заявка не указана</translation>
    </message>
    <message>
        <source>Ticket: %1</source>
        <translation>Заявка: %1</translation>
    </message>
    <message>
        <source>They may:</source>
        <translation>Что разрешается:</translation>
    </message>
    <message>
        <source>What they may run: %1</source>
        <translation>Что разрешается: %1</translation>
    </message>
    <message>
        <source>For &amp;how long:</source>
        <translation>На &amp;какое время:</translation>
    </message>
    <message>
        <source>They ask for %1. The session ends by itself after that, and you can end it earlier at any time.</source>
        <translation>Запрошенное время: %1. Потом сеанс завершится сам, а раньше его можете завершить вы в любой момент.</translation>
    </message>
    <message>
        <source>%1 (as asked)</source>
        <translation>%1 (как запрошено)</translation>
    </message>
    <message>
        <source>How long to allow</source>
        <translation>На какое время разрешить</translation>
    </message>
    <message>
        <source>They can only read information about this computer: they cannot change anything or see your screen. Every check they run is listed on the Remote sessions page.</source>
        <translation>Специалист сможет только читать сведения об этом компьютере: он не сможет ничего изменить и не увидит ваш экран. Каждая его проверка записывается на странице «Удалённые сеансы».</translation>
    </message>
    <message>
        <source>&amp;Deny</source>
        <translation>&amp;Отклонить</translation>
    </message>
    <message>
        <source>Deny the request</source>
        <translation>Отклонить запрос</translation>
    </message>
    <message>
        <source>&amp;Allow</source>
        <translation>&amp;Разрешить</translation>
    </message>
    <message>
        <source>Allow the session</source>
        <translation>Разрешить сеанс</translation>
    </message>
    <message>
        <source>Time left to answer</source>
        <translation>Сколько времени осталось на ответ</translation>
    </message>
    <message numerus="yes">
        <source>Also waiting: %n more request(s). You will see the next one after you answer this one.</source>
        <translation>
            <numerusform>Ждёт ещё %n запрос. Следующий появится, когда вы ответите на этот.</numerusform>
            <numerusform>Ждут ещё %n запроса. Следующий появится, когда вы ответите на этот.</numerusform>
            <numerusform>Ждут ещё %n запросов. Следующий появится, когда вы ответите на этот.</numerusform>
        </translation>
    </message>
    <message>
        <source>If you do not answer within %1, the request is refused.</source>
        <translation>Если вы не ответите в течение %1, запрос будет отклонён.</translation>
    </message>
</context>
<context>
    <name>SessionBanner</name>
    <message>
        <source>Remote session in progress</source>
        <translation>Идёт удалённый сеанс</translation>
    </message>
    <message>
        <source>A support engineer, %1, can run diagnostics on this computer until %2</source>
        <translation>Специалист поддержки %1 может проводить диагностику этого компьютера до %2</translation>
    </message>
    <message>
        <source>A support engineer, %1, can run diagnostics on this computer until %2, as your IT department&apos;s policy allows without asking</source>
        <translation>Специалист поддержки %1 может проводить диагностику этого компьютера до %2: правила вашего ИТ-отдела разрешают это без запроса</translation>
    </message>
    <message>
        <source>Ending…</source>
        <translation>Завершение…</translation>
    </message>
    <message>
        <source>&amp;End now</source>
        <translation>&amp;Завершить сейчас</translation>
    </message>
    <message>
        <source>End the session of %1 now</source>
        <translation>Завершить сеанс специалиста %1 сейчас</translation>
    </message>
    <message>
        <source>Stop the engineer&apos;s session now; nothing more will run</source>
        <translation>Остановить сеанс специалиста сейчас; больше ничего не будет запущено</translation>
    </message>
</context>
</TS>
