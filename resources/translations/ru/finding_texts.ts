<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ru">
<context>
    <name>Findings</name>
    <message>
        <source>%1 bytes</source>
        <translation>%1 байт</translation>
    </message>
    <message>
        <source>%1 KB</source>
        <translation>%1 КБ</translation>
    </message>
    <message>
        <source>%1 MB</source>
        <translation>%1 МБ</translation>
    </message>
    <message>
        <source>%1 GB</source>
        <translation>%1 ГБ</translation>
    </message>
    <message>
        <source>%1 TB</source>
        <translation>%1 ТБ</translation>
    </message>
    <message numerus="yes">
        <source>%n day(s)</source>
        <translation>
            <numerusform>%n день</numerusform>
            <numerusform>%n дня</numerusform>
            <numerusform>%n дней</numerusform>
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
            <numerusform>%n минуту</numerusform>
            <numerusform>%n минуты</numerusform>
            <numerusform>%n минут</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n second(s)</source>
        <translation>
            <numerusform>%n секунду</numerusform>
            <numerusform>%n секунды</numerusform>
            <numerusform>%n секунд</numerusform>
        </translation>
    </message>
    <message>
        <source>connection refused</source>
        <translation>в подключении отказано</translation>
    </message>
    <message>
        <source>timed out</source>
        <translation>время ожидания истекло</translation>
    </message>
    <message>
        <source>No network connection is active: no network cable with a link and no Wi-Fi network joined (interfaces found: %1, none connected).</source>
        <translation>Нет ни одного активного подключения к сети: сетевой кабель не подключён, и компьютер не подключён ни к одной сети Wi-Fi (найдены адаптеры: %1, ни один не подключён).</translation>
    </message>
    <message>
        <source>No network connection is active: no network cable with a link and no Wi-Fi network joined.</source>
        <translation>Нет ни одного активного подключения к сети: сетевой кабель не подключён, и компьютер не подключён ни к одной сети Wi-Fi.</translation>
    </message>
    <message>
        <source>Not connected to any network</source>
        <translation>Нет подключения к сети</translation>
    </message>
    <message>
        <source>Turn on Wi-Fi and join your network (and check that airplane mode is off), or check that the network cable is plugged in firmly at both ends.</source>
        <translation>Включите Wi-Fi и подключитесь к своей сети (проверьте также, что режим «В самолёте» выключен), или проверьте, что сетевой кабель плотно вставлен с обеих сторон.</translation>
    </message>
    <message>
        <source>The computer has a link on %1, but the network gave it no address (only a self-assigned one, or none), so it cannot reach anything beyond this computer.</source>
        <translation>Компьютер подключён к сети (%1), но сеть не выдала ему адрес (есть только автоматически назначенный или нет никакого), поэтому он не может связаться ни с чем за пределами самого компьютера.</translation>
    </message>
    <message>
        <source>Disconnect from the network and connect again (for Wi-Fi: forget the network and rejoin it). If it happens again, restart the router, or tell IT that this computer gets no address (DHCP).</source>
        <translation>Отключитесь от сети и подключитесь снова (для Wi-Fi: забудьте сеть и подключитесь к ней заново). Если это повторится, перезагрузите роутер или сообщите в ИТ-отдел, что компьютер не получает адрес (DHCP).</translation>
    </message>
    <message>
        <source>The computer is connected (%1) but has no default route (no gateway), so it can reach only machines on that same network, not the internet or the company&apos;s servers.</source>
        <translation>Компьютер подключён к сети (%1), но у него нет маршрута по умолчанию (шлюза), поэтому он видит только устройства в той же сети — ни интернет, ни серверы компании недоступны.</translation>
    </message>
    <message>
        <source>Disconnect from the network and connect again, or restart the computer. If it happens again, tell IT: the network did not give this computer a gateway.</source>
        <translation>Отключитесь от сети и подключитесь снова или перезагрузите компьютер. Если это повторится, сообщите в ИТ-отдел: сеть не выдала компьютеру шлюз.</translation>
    </message>
    <message>
        <source>Some servers can still be reached, on the local network.</source>
        <translation>Некоторые серверы в локальной сети всё же доступны.</translation>
    </message>
    <message>
        <source>Connected, but no way out of the local network</source>
        <translation>Сеть есть, но выхода за пределы локальной сети нет</translation>
    </message>
    <message>
        <source>The local DNS service (systemd-resolved) runs, but it has no DNS server to ask.</source>
        <translation>Локальная служба DNS (systemd-resolved) работает, но у неё нет DNS-сервера, к которому можно обратиться.</translation>
    </message>
    <message>
        <source>The DNS settings cannot be read: %1.</source>
        <translation>Не удаётся прочитать настройки DNS: %1.</translation>
    </message>
    <message>
        <source>No DNS server is configured.</source>
        <translation>DNS-сервер не настроен.</translation>
    </message>
    <message>
        <source>No DNS server: names cannot be looked up</source>
        <translation>Нет DNS-сервера: адреса сайтов не определяются</translation>
    </message>
    <message>
        <source>Web sites, mail and the helpdesk cannot be found by name, even though the network is up.</source>
        <translation>Сайты, почта и служба поддержки не находятся по имени, хотя сеть работает.</translation>
    </message>
    <message>
        <source>Disconnect from the network and connect again, or restart the computer. If it happens again, tell IT that the computer gets no DNS server (they can check the network settings or /etc/resolv.conf).</source>
        <translation>Отключитесь от сети и подключитесь снова или перезагрузите компьютер. Если это повторится, сообщите в ИТ-отдел, что компьютер не получает DNS-сервер (там могут проверить сетевые настройки или /etc/resolv.conf).</translation>
    </message>
    <message>
        <source>Check the address %1 for a typo (Deskline settings: helpdesk address). If it is right, the name may exist only inside the company network: connect to the company VPN and try again.</source>
        <translation>Проверьте, нет ли опечатки в адресе %1 (настройки Deskline: адрес службы поддержки). Если адрес верный, возможно, это имя доступно только внутри сети компании: подключитесь к корпоративному VPN и попробуйте снова.</translation>
    </message>
    <message>
        <source>No DNS server answered in time. Disconnect from the network (or the VPN) and connect again; if it keeps happening, restart the router or tell IT.</source>
        <translation>Ни один DNS-сервер не ответил вовремя. Отключитесь от сети (или от VPN) и подключитесь снова; если это повторяется, перезагрузите роутер или сообщите в ИТ-отдел.</translation>
    </message>
    <message>
        <source>Tell IT that %1 cannot be looked up on this computer, with the error shown.</source>
        <translation>Сообщите в ИТ-отдел, что на этом компьютере не определяется адрес %1, и приложите показанную ошибку.</translation>
    </message>
    <message>
        <source>The helpdesk&apos;s name cannot be found</source>
        <translation>Не удаётся найти адрес службы поддержки</translation>
    </message>
    <message>
        <source>The name %1 cannot be found</source>
        <translation>Не удаётся найти адрес %1</translation>
    </message>
    <message>
        <source>Looking up %1 (DNS) failed: %2.</source>
        <translation>Не удалось определить адрес %1 (DNS): %2.</translation>
    </message>
    <message>
        <source>Connecting to %1 on port %2 failed: %3.</source>
        <translation>Не удалось подключиться к %1 через порт %2: %3.</translation>
    </message>
    <message>
        <source>%1 answers but refuses connections on port %2: the service may be down, or the port in the address is wrong. Tell IT by phone or e-mail.</source>
        <translation>%1 отвечает, но не принимает подключения через порт %2: возможно, служба не работает или в адресе указан неверный порт. Сообщите в ИТ-отдел по телефону или по электронной почте.</translation>
    </message>
    <message>
        <source>Nothing answered in time: a firewall or a missing VPN connection usually causes this. If you work outside the office, connect to the company VPN and try again.</source>
        <translation>Сервер не ответил вовремя. Обычно так бывает из-за брандмауэра или когда нет подключения к VPN. Если вы работаете не в офисе, подключитесь к корпоративному VPN и попробуйте снова.</translation>
    </message>
    <message>
        <source>Disconnect from the network (or the VPN) and connect again; if it keeps failing, tell IT.</source>
        <translation>Отключитесь от сети (или от VPN) и подключитесь снова; если ошибка повторяется, сообщите в ИТ-отдел.</translation>
    </message>
    <message>
        <source>A proxy is configured (%1); this check connects directly, and networks that allow only the proxy block that.</source>
        <translation>Настроен прокси-сервер (%1); эта проверка подключается напрямую, а в сетях, где выход разрешён только через прокси, такое подключение блокируется.</translation>
    </message>
    <message>
        <source>If web pages open normally, the proxy is probably the way out here: tell IT the result.</source>
        <translation>Если сайты открываются нормально, скорее всего, выход в сеть идёт через прокси: сообщите этот результат в ИТ-отдел.</translation>
    </message>
    <message>
        <source>Cannot connect to the helpdesk</source>
        <translation>Не удаётся подключиться к службе поддержки</translation>
    </message>
    <message>
        <source>Cannot connect to %1</source>
        <translation>Не удаётся подключиться к %1</translation>
    </message>
    <message>
        <source>First check this computer&apos;s date and time: a wrong clock makes valid certificates look expired.</source>
        <translation>Сначала проверьте дату и время на компьютере: из-за неверных часов действующие сертификаты выглядят просроченными.</translation>
    </message>
    <message>
        <source>Check that this computer&apos;s date and time are right.</source>
        <translation>Проверьте, что дата и время на компьютере верные.</translation>
    </message>
    <message>
        <source>The secure connection to the helpdesk fails</source>
        <translation>Не устанавливается защищённое соединение со службой поддержки</translation>
    </message>
    <message>
        <source>The secure connection to %1 fails</source>
        <translation>Не устанавливается защищённое соединение с %1</translation>
    </message>
    <message>
        <source>%1 answered, but the secure connection (TLS) failed: %2.</source>
        <translation>%1 отвечает, но защищённое соединение (TLS) не установилось: %2.</translation>
    </message>
    <message>
        <source>If they are, tell IT: the server&apos;s certificate is not trusted on this computer (a company certificate may be missing, or something on the network intercepts secure connections).</source>
        <translation>Если они верные, сообщите в ИТ-отдел: этот компьютер не доверяет сертификату сервера (возможно, не установлен сертификат компании или что-то в сети перехватывает защищённые соединения).</translation>
    </message>
    <message>
        <source>This computer&apos;s clock is %1 behind the time of %2 (the server says %3); more than %4 apart breaks sign-in to company services (Kerberos, Active Directory) and secure connections, whose certificates then look expired or not yet valid.</source>
        <translation>Часы этого компьютера отстают на %1 от времени сервера %2 (на сервере сейчас %3). Если часы расходятся более чем на %4, перестаёт работать вход в корпоративные службы (Kerberos, Active Directory) и защищённые соединения: сертификаты выглядят просроченными или ещё не действующими.</translation>
    </message>
    <message>
        <source>This computer&apos;s clock is %1 ahead of the time of %2 (the server says %3); more than %4 apart breaks sign-in to company services (Kerberos, Active Directory) and secure connections, whose certificates then look expired or not yet valid.</source>
        <translation>Часы этого компьютера спешат на %1 относительно времени сервера %2 (на сервере сейчас %3). Если часы расходятся более чем на %4, перестаёт работать вход в корпоративные службы (Kerberos, Active Directory) и защищённые соединения: сертификаты выглядят просроченными или ещё не действующими.</translation>
    </message>
    <message>
        <source>This computer&apos;s clock is wrong</source>
        <translation>Часы компьютера показывают неверное время</translation>
    </message>
    <message>
        <source>Open the date and time settings, turn on &apos;Set time automatically&apos; and check the time zone. If it is on already, tell IT that time synchronisation (NTP) does not work on this computer.</source>
        <translation>Откройте настройки даты и времени, включите «Устанавливать время автоматически» и проверьте часовой пояс. Если это уже включено, сообщите в ИТ-отдел, что на компьютере не работает синхронизация времени (NTP).</translation>
    </message>
    <message>
        <source>Only %1 of %2 of memory (%3 %) is free for programs.</source>
        <translation>Для программ свободно только %1 памяти из %2 (%3 %).</translation>
    </message>
    <message>
        <source>Over the last minute programs were held up waiting for memory %1 % of the time.</source>
        <translation>За последнюю минуту программы %1 % времени простаивали в ожидании памяти.</translation>
    </message>
    <message>
        <source>The computer is running out of memory</source>
        <translation>На компьютере заканчивается память</translation>
    </message>
    <message>
        <source>Programs are waiting for memory</source>
        <translation>Программы простаивают в ожидании памяти</translation>
    </message>
    <message>
        <source>Save your work and close programs you are not using (a web browser with many tabs open uses a lot). If this keeps happening, ask IT about more memory.</source>
        <translation>Сохраните работу и закройте программы, которыми не пользуетесь (браузер с множеством открытых вкладок расходует много памяти). Если это повторяется, спросите в ИТ-отделе о расширении памяти.</translation>
    </message>
    <message>
        <source>%1 of %2 of swap space (%3 %) is in use: memory has been moved out to disk, which makes programs slow to respond.</source>
        <translation>Занято %1 из %2 файла подкачки (%3 %): часть памяти выгружена на диск, и программы из-за этого медленно откликаются.</translation>
    </message>
    <message>
        <source>Memory is short as well.</source>
        <translation>Оперативной памяти тоже не хватает.</translation>
    </message>
    <message>
        <source>Swap space is almost full</source>
        <translation>Файл подкачки почти заполнен</translation>
    </message>
    <message>
        <source>Save your work, then close the programs that have been open the longest or use the most memory. If the computer stays slow, restart it.</source>
        <translation>Сохраните работу, затем закройте программы, которые открыты дольше всего или занимают больше всего памяти. Если компьютер по-прежнему тормозит, перезагрузите его.</translation>
    </message>
    <message>
        <source>Over the last 5 minutes an average of %1 tasks wanted the processor, which has %2: %3 per core.</source>
        <translation>За последние 5 минут процессору в среднем одновременно требовалось выполнять %1 задачи, а у него %2: по %3 на ядро.</translation>
    </message>
    <message numerus="yes">
        <source>%n core(s)</source>
        <translation>
            <numerusform>%n ядро</numerusform>
            <numerusform>%n ядра</numerusform>
            <numerusform>%n ядер</numerusform>
        </translation>
    </message>
    <message>
        <source>The processor is overloaded</source>
        <translation>Процессор перегружен</translation>
    </message>
    <message>
        <source>Close programs you do not need right now; if the computer stays slow, restart it.</source>
        <translation>Закройте программы, которые сейчас не нужны; если компьютер по-прежнему тормозит, перезагрузите его.</translation>
    </message>
    <message>
        <source>%1 (process %2) kept about %3 processor cores busy (%4 % of one core).</source>
        <translation>Программа %1 (процесс %2) загружала примерно %3 ядра процессора (%4 % одного ядра).</translation>
    </message>
    <message>
        <source>%1 (process %2) kept a processor core %3 % busy.</source>
        <translation>Программа %1 (процесс %2) загружала ядро процессора на %3 %.</translation>
    </message>
    <message>
        <source>%1 is keeping the processor busy</source>
        <translation>Программа %1 загружает процессор</translation>
    </message>
    <message>
        <source>A program stuck like this slows everything else down and drains the battery.</source>
        <translation>Зависшая так программа замедляет всё остальное и быстро разряжает аккумулятор.</translation>
    </message>
    <message>
        <source>Save your work in %1, then close it and open it again. If it does not close, end it from the task manager, or restart the computer.</source>
        <translation>Сохраните работу в программе %1, затем закройте её и откройте снова. Если она не закрывается, завершите её в диспетчере задач или перезагрузите компьютер.</translation>
    </message>
    <message>
        <source>%1 is using a large part of the memory</source>
        <translation>Программа %1 занимает большую часть памяти</translation>
    </message>
    <message>
        <source>%1 (process %2) holds %3, %4 % of all memory. Other programs are left with little, and the computer slows down.</source>
        <translation>Программа %1 (процесс %2) занимает %3 — %4 % всей памяти. Другим программам остаётся мало, и компьютер работает медленнее.</translation>
    </message>
    <message>
        <source>Save your work in %1, then close it and open it again; it will start with far less memory. If it grows back quickly, tell IT which program it is.</source>
        <translation>Сохраните работу в программе %1, затем закройте её и откройте снова: после перезапуска она займёт гораздо меньше памяти. Если объём быстро вырастет снова, сообщите в ИТ-отдел, какая это программа.</translation>
    </message>
    <message numerus="yes">
        <source>%n finished program(s) are still listed because the program that started them has not cleaned up after them (zombie processes). They use no memory or processor time themselves, but they show that program is not working properly.</source>
        <translation>
            <numerusform>%n завершённая программа всё ещё числится в списке процессов, потому что запустившая её программа не убрала за ней (процесс-зомби). Сама по себе она не занимает ни памяти, ни процессорного времени, но это признак того, что запустившая программа работает неправильно.</numerusform>
            <numerusform>%n завершённые программы всё ещё числятся в списке процессов, потому что запустившая их программа не убрала за ними (процессы-зомби). Сами по себе они не занимают ни памяти, ни процессорного времени, но это признак того, что запустившая программа работает неправильно.</numerusform>
            <numerusform>%n завершённых программ всё ещё числятся в списке процессов, потому что запустившая их программа не убрала за ними (процессы-зомби). Сами по себе они не занимают ни памяти, ни процессорного времени, но это признак того, что запустившая программа работает неправильно.</numerusform>
        </translation>
    </message>
    <message>
        <source>They were left by %1 (process %2).</source>
        <translation>Их оставила программа %1 (процесс %2).</translation>
    </message>
    <message>
        <source>Close and reopen %1, which should clean them up; restart the computer if the number keeps growing.</source>
        <translation>Закройте и снова откройте программу %1 — это должно их убрать; если их число продолжает расти, перезагрузите компьютер.</translation>
    </message>
    <message>
        <source>Restart the computer if the number keeps growing.</source>
        <translation>Если их число продолжает расти, перезагрузите компьютер.</translation>
    </message>
    <message>
        <source>A program is leaving finished processes behind</source>
        <translation>Программа оставляет после себя завершённые процессы</translation>
    </message>
    <message>
        <source>The battery now holds only %1 % of the charge it held when new, so it runs out much sooner than it should.</source>
        <translation>Аккумулятор теперь вмещает только %1 % заряда от того, что вмещал новым, поэтому садится гораздо быстрее, чем должен.</translation>
    </message>
    <message numerus="yes">
        <source>It has been through %n charge cycle(s).</source>
        <translation>
            <numerusform>Он прошёл %n цикл зарядки.</numerusform>
            <numerusform>Он прошёл %n цикла зарядки.</numerusform>
            <numerusform>Он прошёл %n циклов зарядки.</numerusform>
        </translation>
    </message>
    <message>
        <source>The battery is worn out</source>
        <translation>Аккумулятор изношен</translation>
    </message>
    <message>
        <source>Ask IT to replace the battery. Until then, keep the charger connected when you can, and save your work often when on battery.</source>
        <translation>Попросите ИТ-отдел заменить аккумулятор. А пока по возможности держите зарядное устройство подключённым и при работе от аккумулятора чаще сохраняйте работу.</translation>
    </message>
    <message>
        <source>The computer is running on battery at %1 %, about %2 left. It will switch itself off soon.</source>
        <translation>Компьютер работает от аккумулятора, заряд — %1 %, его хватит примерно на %2. Скоро компьютер выключится.</translation>
    </message>
    <message>
        <source>The computer is running on battery at %1 %. It will switch itself off soon.</source>
        <translation>Компьютер работает от аккумулятора, заряд — %1 %. Скоро компьютер выключится.</translation>
    </message>
    <message>
        <source>The battery is almost empty</source>
        <translation>Аккумулятор почти разряжен</translation>
    </message>
    <message>
        <source>Connect the charger now, and save your work.</source>
        <translation>Подключите зарядное устройство прямо сейчас и сохраните работу.</translation>
    </message>
    <message>
        <source>Processor</source>
        <translation>Процессор</translation>
    </message>
    <message>
        <source>SSD</source>
        <translation>SSD-накопитель</translation>
    </message>
    <message>
        <source>Disk</source>
        <translation>Диск</translation>
    </message>
    <message>
        <source>Graphics card</source>
        <translation>Видеокарта</translation>
    </message>
    <message>
        <source>Mainboard</source>
        <translation>Материнская плата</translation>
    </message>
    <message>
        <source>Chipset</source>
        <translation>Чипсет</translation>
    </message>
    <message>
        <source>Wi-Fi adapter</source>
        <translation>Адаптер Wi-Fi</translation>
    </message>
    <message>
        <source>Laptop</source>
        <translation>Ноутбук</translation>
    </message>
    <message>
        <source>Part %1</source>
        <translation>Компонент %1</translation>
    </message>
    <message>
        <source>%1: the temperature (%2) is %3 °C.</source>
        <translation>%1: температура (%2) — %3 °C.</translation>
    </message>
    <message>
        <source>Its high mark is %1 °C and its critical mark %2 °C.</source>
        <translation>Высокая температура для него — %1 °C, критическая — %2 °C.</translation>
    </message>
    <message>
        <source>Its high mark is %1 °C.</source>
        <translation>Высокая температура для него — %1 °C.</translation>
    </message>
    <message>
        <source>Its critical mark is %1 °C.</source>
        <translation>Критическая температура для него — %1 °C.</translation>
    </message>
    <message>
        <source>At this temperature the hardware slows itself down hard or switches off to protect itself.</source>
        <translation>При такой температуре оборудование сильно замедляется или выключается, чтобы защитить себя.</translation>
    </message>
    <message>
        <source>%1 is overheating</source>
        <translation>%1 перегревается</translation>
    </message>
    <message>
        <source>%1 is running very hot</source>
        <translation>%1 сильно нагревается</translation>
    </message>
    <message>
        <source>Make sure the air vents are free and not dusty, and use a laptop on a hard, flat surface; close demanding programs. If it stays this hot, ask IT to check the cooling.</source>
        <translation>Проверьте, что вентиляционные отверстия открыты и не забиты пылью, а ноутбук стоит на твёрдой ровной поверхности; закройте ресурсоёмкие программы. Если температура не снижается, попросите ИТ-отдел проверить охлаждение.</translation>
    </message>
    <message numerus="yes">
        <source>%n service(s) set to start automatically are not running</source>
        <translation>
            <numerusform>Не работает %n служба с автоматическим запуском</numerusform>
            <numerusform>Не работают %n службы с автоматическим запуском</numerusform>
            <numerusform>Не работают %n служб с автоматическим запуском</numerusform>
        </translation>
    </message>
    <message>
        <source>Windows is set to start these services on its own, but they are stopped: %1. Some services stop on purpose when they have nothing to do, so this is only a hint.</source>
        <translation>Windows должна запускать эти службы сама, но они остановлены: %1. Некоторые службы останавливаются намеренно, когда им нечего делать, так что это лишь подсказка.</translation>
    </message>
    <message numerus="yes">
        <source>%n background service(s) failed</source>
        <translation>
            <numerusform>%n фоновая служба завершилась с ошибкой</numerusform>
            <numerusform>%n фоновые службы завершились с ошибкой</numerusform>
            <numerusform>%n фоновых служб завершились с ошибкой</numerusform>
        </translation>
    </message>
    <message>
        <source>Background services are programs the computer runs on its own (printing, network, backups, ...). These stopped with an error, could not start, or keep restarting: %1.</source>
        <translation>Фоновые службы — это программы, которые компьютер запускает сам (печать, сеть, резервное копирование и т. д.). Эти службы остановились с ошибкой, не смогли запуститься или постоянно перезапускаются: %1.</translation>
    </message>
    <message>
        <source>Restart the computer. If the same services fail again, send this report to IT support: the names above tell them where to look.</source>
        <translation>Перезагрузите компьютер. Если те же службы снова дадут сбой, отправьте этот отчёт в службу ИТ-поддержки: по названиям выше там поймут, где искать причину.</translation>
    </message>
    <message>
        <source>The computer is running in rescue mode</source>
        <translation>Компьютер работает в режиме восстановления</translation>
    </message>
    <message>
        <source>The system started in maintenance (rescue or emergency) mode, which happens when something needed at start-up failed, such as a disk that could not be checked or mounted.</source>
        <translation>Система запустилась в режиме обслуживания (восстановления или аварийном). Так бывает, когда при загрузке не сработало что-то важное, например не удалось проверить или подключить диск.</translation>
    </message>
    <message>
        <source>Restart the computer. If it comes back in rescue mode, call IT support before using it.</source>
        <translation>Перезагрузите компьютер. Если он снова запустится в режиме восстановления, позвоните в службу ИТ-поддержки, прежде чем продолжать работу.</translation>
    </message>
    <message>
        <source>The computer has not finished starting up</source>
        <translation>Компьютер ещё не закончил загрузку</translation>
    </message>
    <message>
        <source>The system still reports start-up in progress (state &apos;%1&apos;): some service may be waiting for something that does not come, such as a network drive.</source>
        <translation>Система всё ещё сообщает, что загрузка идёт (состояние «%1»): возможно, какая-то служба ждёт того, что не появляется, например сетевого диска.</translation>
    </message>
    <message>
        <source>Wait a few minutes and check again. If it still says so, restart the computer.</source>
        <translation>Подождите несколько минут и проверьте снова. Если ничего не изменится, перезагрузите компьютер.</translation>
    </message>
    <message>
        <source>Part of the system reported a failure</source>
        <translation>Часть системы сообщила о сбое</translation>
    </message>
    <message>
        <source>The system says it is running in a degraded state, but no failed service could be listed: the failure may have cleared a moment ago.</source>
        <translation>Система сообщает, что работает с ограничениями, но ни одной сбойной службы найти не удалось: возможно, сбой только что устранился сам.</translation>
    </message>
    <message>
        <source>If something does not work, restart the computer and report the problem if it stays.</source>
        <translation>Если что-то не работает, перезагрузите компьютер, а если проблема останется, сообщите о ней.</translation>
    </message>
    <message>
        <source>The system logs hold at least %1 error entries from the last %2.</source>
        <translation>В системных журналах не меньше %1 записей об ошибках за последние %2.</translation>
    </message>
    <message>
        <source>The system logs hold %1 error entries from the last %2.</source>
        <translation>В системных журналах %1 записей об ошибках за последние %2.</translation>
    </message>
    <message>
        <source>Most came from %1.</source>
        <translation>Больше всего их от %1.</translation>
    </message>
    <message>
        <source>Many errors in the system logs</source>
        <translation>Много ошибок в системных журналах</translation>
    </message>
    <message>
        <source>If something is not working as it should, send this report to IT support: the newest errors are included. If everything works, nothing needs to be done.</source>
        <translation>Если что-то работает не так, как должно, отправьте этот отчёт в службу ИТ-поддержки: в него входят последние ошибки. Если всё работает, ничего делать не нужно.</translation>
    </message>
    <message numerus="yes">
        <source>%n software package(s) changed in the last %1</source>
        <translation>
            <numerusform>За последние %1 изменён %n программный пакет</numerusform>
            <numerusform>За последние %1 изменены %n программных пакета</numerusform>
            <numerusform>За последние %1 изменено %n программных пакетов</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n package(s) installed, updated or removed in the last %1</source>
        <translation>
            <numerusform>За последние %1 установлен, обновлён или удалён %n пакет</numerusform>
            <numerusform>За последние %1 установлены, обновлены или удалены %n пакета</numerusform>
            <numerusform>За последние %1 установлено, обновлено или удалено %n пакетов</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>(%n change(s) in all).</source>
        <translation>
            <numerusform>(всего %n изменение).</numerusform>
            <numerusform>(всего %n изменения).</numerusform>
            <numerusform>(всего %n изменений).</numerusform>
        </translation>
    </message>
    <message>
        <source>If your problem started recently, tell IT support when it started: a change made around that time may be the cause.</source>
        <translation>Если проблема появилась недавно, сообщите в службу ИТ-поддержки, когда именно: причиной может быть изменение, сделанное примерно в то же время.</translation>
    </message>
    <message>
        <source>the system disk (%1)</source>
        <translation>системном диске (%1)</translation>
    </message>
    <message>
        <source>the disk with your files (%1)</source>
        <translation>диске с вашими файлами (%1)</translation>
    </message>
    <message>
        <source>Temporary files fill %1. Close programs you do not need, then restart the computer: %1 is emptied at start-up on most systems.</source>
        <translation>Место в %1 занимают временные файлы. Закройте ненужные программы и перезагрузите компьютер: в большинстве систем %1 очищается при загрузке.</translation>
    </message>
    <message>
        <source>Old system versions fill %1. Ask IT to remove old kernels (on Debian/Ubuntu: sudo apt autoremove).</source>
        <translation>Место в %1 занимают старые версии системы. Попросите ИТ-отдел удалить старые ядра (в Debian/Ubuntu: sudo apt autoremove).</translation>
    </message>
    <message>
        <source>Logs or caches fill %1. Ask IT to clear old logs and package caches there.</source>
        <translation>Место в %1 занимают журналы или кэш. Попросите ИТ-отдел удалить там старые журналы и кэш пакетов.</translation>
    </message>
    <message>
        <source>Empty the Trash, then delete or move files you no longer need from your home folder on %1 (Downloads, videos, old backups are usually the largest).</source>
        <translation>Очистите корзину, затем удалите или перенесите ненужные файлы из своей домашней папки на %1 (обычно больше всего места занимают «Загрузки», видео и старые резервные копии).</translation>
    </message>
    <message>
        <source>Empty the Trash and delete or move large files you no longer need (Downloads, videos). If %1 is still full, ask IT to clear old logs, caches and updates on it.</source>
        <translation>Очистите корзину и удалите или перенесите большие ненужные файлы («Загрузки», видео). Если на %1 всё равно мало места, попросите ИТ-отдел удалить там старые журналы, кэш и обновления.</translation>
    </message>
    <message>
        <source>Delete or move files you no longer need from %1, or move them to a larger disk.</source>
        <translation>Удалите ненужные файлы с %1 или перенесите их на диск побольше.</translation>
    </message>
    <message>
        <source>Disk almost full: %1</source>
        <translation>Диск почти заполнен: %1</translation>
    </message>
    <message>
        <source>Only %1 (%2 %) is free on %3. Programs may fail to save files, update or start.</source>
        <translation>Свободно только %1 (%2 %) на %3. Программы могут не суметь сохранить файлы, обновиться или запуститься.</translation>
    </message>
    <message>
        <source>Too many files: %1</source>
        <translation>Слишком много файлов: %1</translation>
    </message>
    <message>
        <source>There is room for only %1 more files on %2 (%3 % of its %4 file slots left). When none are left, programs cannot create any new file.</source>
        <translation>На %2 можно создать ещё только %1 файлов (осталось %3 % из %4 мест для файлов). Когда места закончатся, программы не смогут создать ни одного нового файла.</translation>
    </message>
    <message>
        <source>A folder with a huge number of small files (often a cache, mail or temporary folder) fills %1. Ask IT to find it (for example: du --inodes -x %1 | sort -n) and clean it.</source>
        <translation>На %1 есть папка с огромным количеством мелких файлов (часто это кэш, почта или временные файлы). Попросите ИТ-отдел найти её (например: du --inodes -x %1 | sort -n) и очистить.</translation>
    </message>
    <message>
        <source>%1 (%2 on %3) is mounted read-only: nothing can be saved or changed there.</source>
        <translation>%1 (%2 на %3) подключён только для чтения: там ничего нельзя сохранить или изменить.</translation>
    </message>
    <message>
        <source>On a disk that is normally writable this usually means the system found errors on it and stopped writing to protect your data.</source>
        <translation>Для диска, на который обычно можно записывать, это чаще всего значит, что система нашла на нём ошибки и прекратила запись, чтобы защитить ваши данные.</translation>
    </message>
    <message>
        <source>If you need to save files on %1, ask IT whether the share is meant to be read-only for you.</source>
        <translation>Если вам нужно сохранять файлы на %1, уточните в ИТ-отделе, должна ли эта сетевая папка быть для вас доступна только для чтения.</translation>
    </message>
    <message>
        <source>Windows disks open read-only when Windows was not shut down completely (Fast Startup or hibernation): start Windows, choose Shut down while holding Shift, and try again.</source>
        <translation>Диски Windows открываются только для чтения, если Windows не была полностью выключена (быстрый запуск или гибернация): загрузите Windows, выберите «Завершение работы», удерживая Shift, и попробуйте снова.</translation>
    </message>
    <message>
        <source>If %1 is a USB stick or memory card, check its write-protect switch, then remove it safely and plug it in again. If it stays read-only, copy your files off it: it may be failing.</source>
        <translation>Если %1 — это флешка или карта памяти, проверьте переключатель защиты от записи, затем безопасно извлеките её и подключите снова. Если она по-прежнему доступна только для чтения, скопируйте с неё свои файлы: возможно, она выходит из строя.</translation>
    </message>
    <message>
        <source>Save your work somewhere else if you can, then restart the computer. If the disk is still read-only after the restart, contact IT: the system found errors on it and it may be failing.</source>
        <translation>По возможности сохраните работу в другом месте и перезагрузите компьютер. Если после перезагрузки диск всё ещё доступен только для чтения, обратитесь в ИТ-отдел: система нашла на нём ошибки, возможно, он выходит из строя.</translation>
    </message>
    <message>
        <source>Disk is read-only: %1</source>
        <translation>Диск доступен только для чтения: %1</translation>
    </message>
    <message>
        <source>Updates were installed that take effect only after a restart.</source>
        <translation>Установлены обновления, которые начнут действовать только после перезагрузки.</translation>
    </message>
    <message>
        <source>%1 and %2 more</source>
        <translation>%1 и ещё %2</translation>
    </message>
    <message>
        <source>Updated: %1.</source>
        <translation>Обновлено: %1.</translation>
    </message>
    <message>
        <source>Until then the old versions keep running, which can cause errors and leaves security fixes unapplied. The computer last started %1 ago.</source>
        <translation>До этого продолжают работать старые версии: это может вызывать ошибки, а исправления безопасности не применяются. Последний раз компьютер включался %1 назад.</translation>
    </message>
    <message>
        <source>Restart needed to finish updates</source>
        <translation>Чтобы завершить обновление, нужна перезагрузка</translation>
    </message>
    <message>
        <source>Save your work, close your programs and restart the computer.</source>
        <translation>Сохраните работу, закройте программы и перезагрузите компьютер.</translation>
    </message>
    <message>
        <source>Not restarted for %1</source>
        <translation>Компьютер не перезагружался %1</translation>
    </message>
    <message>
        <source>The computer has been running for %1 without a restart (since %2 UTC); the suggested limit is %3. Over time programs hold on to memory, updates wait, and the system gets slower.</source>
        <translation>Компьютер работает без перезагрузки уже %1 (с %2 UTC); рекомендуется перезагружать его хотя бы раз в %3. Со временем программы занимают всё больше памяти, обновления ждут установки, и система работает медленнее.</translation>
    </message>
    <message>
        <source>Restart the computer at a convenient moment, after saving your work.</source>
        <translation>Перезагрузите компьютер в удобный момент, предварительно сохранив работу.</translation>
    </message>
    <message>
        <source>The clock is not set automatically</source>
        <translation>Время не устанавливается автоматически</translation>
    </message>
    <message>
        <source>The computer&apos;s clock is not being kept in time over the network (NTP). A clock that drifts causes failed logins, certificate errors on secure websites and problems syncing files and mail. When this report was made the clock showed %1 (UTC), time zone %2.</source>
        <translation>Часы компьютера не синхронизируются по сети (NTP). Если часы уходят, возникают ошибки входа, ошибки сертификатов на защищённых сайтах и проблемы с синхронизацией файлов и почты. Когда составлялся этот отчёт, часы показывали %1 (UTC), часовой пояс — %2.</translation>
    </message>
    <message>
        <source>Turn on &apos;Set time automatically&apos; in the date and time settings (on Linux: timedatectl set-ntp true); if it is on already, ask IT to check that the time server can be reached.</source>
        <translation>Включите «Устанавливать время автоматически» в настройках даты и времени (в Linux: timedatectl set-ntp true); если это уже включено, попросите ИТ-отдел проверить доступность сервера времени.</translation>
    </message>
    <message>
        <source>Every program started the same way can change or delete anything on the computer, by mistake or through a malicious file, and some programs refuse to run like this.</source>
        <translation>Любая программа, запущенная так же, может изменить или удалить что угодно на компьютере — по ошибке или из-за вредоносного файла, а некоторые программы в таком режиме вообще не запускаются.</translation>
    </message>
    <message>
        <source>Working as the administrator account (root)</source>
        <translation>Работа под учётной записью администратора (root)</translation>
    </message>
    <message>
        <source>Deskline runs as %1, the account with unlimited rights.</source>
        <translation>Deskline запущен от имени %1 — учётной записи с неограниченными правами.</translation>
    </message>
    <message>
        <source>Log out and log in with your own user account; use sudo only for the single task that needs administrator rights.</source>
        <translation>Выйдите из системы и войдите под своей обычной учётной записью; используйте sudo только для той задачи, которой нужны права администратора.</translation>
    </message>
    <message>
        <source>Deskline runs with administrator rights</source>
        <translation>Deskline запущен с правами администратора</translation>
    </message>
    <message>
        <source>Deskline runs with full administrator rights (as %1).</source>
        <translation>Deskline запущен с полными правами администратора (от имени %1).</translation>
    </message>
    <message>
        <source>Close Deskline and start it normally, not with &apos;Run as administrator&apos;.</source>
        <translation>Закройте Deskline и запустите его обычным способом, а не через «Запуск от имени администратора».</translation>
    </message>
    <message>
        <source>The printer %1 (your default printer) is stopped, so nothing sent to it is printed.</source>
        <translation>Принтер %1 (ваш принтер по умолчанию) остановлен, поэтому ничего из отправленного на него не печатается.</translation>
    </message>
    <message>
        <source>The printer %1 is stopped, so nothing sent to it is printed.</source>
        <translation>Принтер %1 остановлен, поэтому ничего из отправленного на него не печатается.</translation>
    </message>
    <message>
        <source>The printer reported: %1.</source>
        <translation>Сообщение принтера: %1.</translation>
    </message>
    <message numerus="yes">
        <source>%n job(s) waiting in it.</source>
        <translation>
            <numerusform>В очереди ждёт %n задание.</numerusform>
            <numerusform>В очереди ждут %n задания.</numerusform>
            <numerusform>В очереди ждут %n заданий.</numerusform>
        </translation>
    </message>
    <message>
        <source>It also refuses new jobs.</source>
        <translation>Новые задания он тоже не принимает.</translation>
    </message>
    <message>
        <source>Printer stopped: %1</source>
        <translation>Принтер остановлен: %1</translation>
    </message>
    <message>
        <source>Fix what the printer reports (paper, toner, cable, power), then resume it in the printer settings (or ask IT to run: cupsenable %1; cupsaccept %1).</source>
        <translation>Устраните то, о чём сообщает принтер (бумага, тонер, кабель, питание), затем возобновите его работу в настройках принтеров (или попросите ИТ-отдел выполнить: cupsenable %1; cupsaccept %1).</translation>
    </message>
    <message>
        <source>The computer&apos;s printing service does not answer, so nothing can be printed.</source>
        <translation>Служба печати компьютера не отвечает, поэтому ничего нельзя напечатать.</translation>
    </message>
    <message>
        <source>It said: %1.</source>
        <translation>Её сообщение: %1.</translation>
    </message>
    <message>
        <source>If you need to print, ask IT to start the printing service (the Print Spooler service).</source>
        <translation>Если вам нужно печатать, попросите ИТ-отдел запустить службу печати (службу «Диспетчер печати»).</translation>
    </message>
    <message>
        <source>If you need to print, ask IT to start the printing service (CUPS: systemctl start cups).</source>
        <translation>Если вам нужно печатать, попросите ИТ-отдел запустить службу печати (CUPS: systemctl start cups).</translation>
    </message>
    <message>
        <source>The printing service is not running</source>
        <translation>Служба печати не работает</translation>
    </message>
    <message>
        <source>Needs attention now</source>
        <translation>Требует внимания</translation>
    </message>
    <message>
        <source>Worth a look</source>
        <translation>Стоит проверить</translation>
    </message>
    <message>
        <source>For your information</source>
        <translation>Для сведения</translation>
    </message>
    <message>
        <source>System</source>
        <translation>Система</translation>
    </message>
    <message>
        <source>Memory</source>
        <translation>Память</translation>
    </message>
    <message>
        <source>Disks</source>
        <translation>Диски</translation>
    </message>
    <message>
        <source>Network</source>
        <translation>Сеть</translation>
    </message>
    <message>
        <source>Programs running</source>
        <translation>Запущенные программы</translation>
    </message>
    <message>
        <source>Background services</source>
        <translation>Фоновые службы</translation>
    </message>
    <message>
        <source>Installed software</source>
        <translation>Установленные программы</translation>
    </message>
    <message>
        <source>Recent errors in logs</source>
        <translation>Последние ошибки в журналах</translation>
    </message>
    <message>
        <source>Battery and power</source>
        <translation>Аккумулятор и питание</translation>
    </message>
    <message>
        <source>Temperatures and fans</source>
        <translation>Температура и вентиляторы</translation>
    </message>
    <message>
        <source>Users and sessions</source>
        <translation>Пользователи и сеансы</translation>
    </message>
    <message>
        <source>Displays</source>
        <translation>Мониторы</translation>
    </message>
    <message>
        <source>Printers</source>
        <translation>Принтеры</translation>
    </message>
    <message>
        <source>Environment</source>
        <translation>Окружение</translation>
    </message>
</context>
</TS>
